"""heed's own Scrapy signals.

Enforcement (the gate) and recording (the provenance log) meet only here: the gate sends,
the log listens, and neither imports the other.
"""

#: Sent for every decision the gate takes, before the request is dropped or passed on.
#: Arguments: ``decision`` (:class:`crawler.policy.decision.Decision`); the gate also passes
#: ``request`` and, after fetching, ``response`` (either may be None). A receiver may return
#: an awaitable for a fetch-stage ``allow``: the gate awaits it before the request is sent
#: (the provenance log uses this to make the decision durable first).
policy_decided = object()

#: Sent once for every policy file fetched and every response header block that carried a
#: signal, so the log can archive the exact bytes a decision rests on.
#: Arguments: ``result`` (:class:`crawler.policy.fetchresult.FetchResult`).
policy_evidence = object()

#: Sent when an origin's policy files have been fetched and parsed (again, after expiry),
#: so politeness can apply Crawl-delay and Request-rate without re-parsing robots.txt.
#: Arguments: ``origin`` (``scheme://host:port``), ``policy``
#: (:class:`crawler.policy.origin.OriginPolicy`).
policy_loaded = object()
