"""The policy gate: no content request passes without a decision, and every decision is sent.

Replaces Scrapy's ``RobotsTxtMiddleware`` (which fails open on 5xx and network errors, never
expires its cache and shares it between http and https) and refuses to run beside it.

Before the first content request to an origin (scheme + host + port) the gate fetches
``/robots.txt``, ``/.well-known/tdmrep.json``, ``/ai.txt`` (``POLICY_AI_TXT``) and the RSL
licences robots.txt names, through the engine, once, and caches the parsed
:class:`~crawler.policy.origin.OriginPolicy` (``POLICY_CACHE_TTL`` on success,
``POLICY_FAILURE_TTL`` when a file could not be checked, at most ``POLICY_CACHE_SIZE``
origins, least recently used evicted). Then, per request:

* before fetching: registries (local files, and the remote registry when
  ``POLICY_REMOTE_REGISTRY`` is on), robots.txt (own token, ``POLICY_ALSO_OBEY`` tokens,
  AI-training tokens, Content-Usage, Content-Signal), tdmrep.json, ai.txt and RSL →
  ``allow``, ``deny`` or ``hold``; anything but ``allow`` drops the request. Redirect targets
  are new requests and pass here again. An allow is released only once the log says it is
  durable.
* after fetching: TDMRep, X-Robots-Tag, Content-Usage and Content-Signal headers, licence
  links and ``License`` challenges, HTML ``<meta>``/``<link>`` in ``<head>``, and metadata
  embedded in audio and image bodies → a reserved response is discarded before any spider
  sees it.

A check that raises holds the URL (``policy-error:<exception>``) rather than letting it
through. Every decision goes out on :data:`crawler.signals.policy_decided`; the policy
files' bytes and the header blocks that carried signals go out on
:data:`crawler.signals.policy_evidence`.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from crawler.config import get_policy_config
from crawler.distributed.shared import shared_policy_files
from crawler.exceptions import PolicyRefusal
from crawler.middlewares.guard import INTERNAL
from crawler.middlewares.remoteregistry import RemoteRegistryClient
from crawler.middlewares.resolver import refused_host
from crawler.policy import rsl
from crawler.policy.decision import ALLOW, FETCH, HOLD, USE, Decision, Evidence
from crawler.policy.fetchresult import MAX_REDIRECTS, FetchResult
from crawler.policy.origin import (
    MAX_LICENSE_DOCUMENTS,
    SIGNAL_HEADERS,
    OriginPolicy,
    build_origin_policy,
    fetch_decision,
    origin_of,
    registry_decision,
    rsl_links,
    use_decision,
)
from crawler.signals import policy_decided, policy_evidence, policy_loaded

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

    from crawler.policy.config import PolicyConfig

logger = logging.getLogger(__name__)

_BUILTIN_ROBOTS = "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"
#: Meta names whose content is a use signal (besides our own product token).
_SIGNAL_META = frozenset({"robots", "tdm-reservation", "tdm-policy"})


#: Download failures by the name used in reason codes. Scrapy 2.19 wraps Twisted's errors in
#: its own exception types; both are listed so either form is named the same.
_ERROR_NAMES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((CannotResolveHostError, DNSLookupError), "dns"),
    ((DownloadTimeoutError, TimeoutError, TCPTimedOutError), "timeout"),
    ((ResponseDataLossError, DownloadFailedError, ResponseFailed), "truncated"),
    ((DownloadConnectionRefusedError, ConnectionRefusedError), "connection-refused"),
)


def _relay(result: Any, waiter: Deferred[Any]) -> Any:
    """Fire ``waiter`` with ``result`` and keep ``result`` for the next waiter of the same load."""
    if isinstance(result, Failure):
        waiter.errback(result)
    else:
        waiter.callback(result)
    return result


def _error_name(exc: BaseException) -> str:
    """A short, stable name for a failed policy-file fetch (the reason-code detail)."""
    if isinstance(exc, PolicyRefusal):
        return "security"
    if isinstance(exc, IgnoreRequest):
        text = str(exc).lower()
        return "too-many-redirects" if "redirect" in text else "ignored"
    for types, name in _ERROR_NAMES:
        if isinstance(exc, types):
            return name
    return type(exc).__name__


def _decode_headers(response: Response, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The signal headers of a response, lower-cased names, every value received.

    ``Link`` values count only when they name a licence, ``WWW-Authenticate`` only on a
    401/402: the rest is ordinary traffic, not worth archiving as evidence.
    """
    out: dict[str, list[str]] = {}
    for name in names:
        values = [v.decode("latin-1") for v in response.headers.getlist(name)]
        if name == "link":
            values = [v for v in values if "license" in v.lower()]
        elif name == "www-authenticate" and response.status not in (401, 402):
            values = []
        if values:
            out[name] = values
    return out


#: robots meta directives that say something about use of the content; a block of only
#: ``index, follow`` is ordinary and not archived (it rides on most pages).
_USE_DIRECTIVES = frozenset({"noai", "noimageai", "noml", "noarchive", "nocache", "none", "noindex"})


def _meaningful(name: str, content: str) -> bool:
    if name.startswith("tdm-"):
        return True
    return any(d.strip().lower().split(":")[-1].strip() in _USE_DIRECTIVES for d in content.split(","))


class PolicyGateMiddleware:
    """Downloader middleware; see the module docstring."""

    #: Policy files are fetched ahead of the content requests waiting for them.
    POLICY_PRIORITY = 1000

    def __init__(self, crawler: Crawler, config: PolicyConfig) -> None:
        self.crawler = crawler
        self.config = config
        self._cache: OrderedDict[str, OriginPolicy] = OrderedDict()
        self._inflight: dict[str, Deferred[OriginPolicy]] = {}
        self._licenses: OrderedDict[str, tuple[float, FetchResult]] = OrderedDict()
        self.remote = RemoteRegistryClient(crawler, config) if config.remote_registry else None
        #: distributed mode: policy files fetched once per TTL for all workers of the run
        self.shared = shared_policy_files(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        mws = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
        if mws.get(_BUILTIN_ROBOTS) is not None and settings.getbool("ROBOTSTXT_OBEY"):
            raise ValueError(
                "DOWNLOADER_MIDDLEWARES: Scrapy's RobotsTxtMiddleware is enabled beside heed's "
                "policy gate; set it to None (heed's gate does its job and fails closed)"
            )
        return cls(crawler, get_policy_config(crawler))

    # -- before fetching ------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        if request.meta.get(INTERNAL):
            return
        url = request.url
        try:
            registry = self.config.registry.url_finding(url)
            if registry.verdict == ALLOW and self.remote is not None:
                registry = await self.remote.finding(url)
            if registry.verdict != ALLOW:
                decision = registry_decision(registry, url)
            else:
                policy = await self.origin_policy(origin_of(url))
                decision = fetch_decision(policy, url, self.config, registry=registry)
        except Exception as exc:  # a bug or bad input must hold the URL, never let it through
            decision = self._failed(FETCH, url, exc)
        await _durable(self._enforce(decision, request))

    # -- after fetching -------------------------------------------------------------------

    async def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get(INTERNAL):
            return response
        url = response.url
        try:
            headers = _decode_headers(response, SIGNAL_HEADERS)
            content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
            meta = self._head_meta(response)
            links = self._head_license_links(response)
            evidence = self._signal_evidence(response, headers, meta)
            licenses = {u: await self._license(u) for u in rsl_links(url, headers, links)}
            policy = self._cache.get(origin_of(url))
            decision = use_decision(
                policy, url, self.config, status=response.status, headers=headers, meta=meta,
                content_type=content_type, evidence=evidence, body=response.body, links=links,
                licenses=licenses,
            )
        except Exception as exc:  # the content is discarded rather than used unchecked
            decision = self._failed(USE, url, exc)
        self._enforce(decision, request, response)
        return response

    def process_exception(
        self, request: Request, exception: BaseException
    ) -> None:
        """A content download that failed is logged as held (it was allowed, never used)."""
        if request.meta.get(INTERNAL) or isinstance(exception, IgnoreRequest):
            return
        if refused_host(urlparse_cached(request).hostname or ""):
            return  # the network guard logs its own refusals
        self._send(Decision(verdict=HOLD, stage=USE, url=request.url,
                            reasons=(f"http.error:{type(exception).__name__}",)), request)

    # -- policy files -----------------------------------------------------------------------

    async def origin_policy(self, origin: str) -> OriginPolicy:
        """The origin's parsed policy files: cached, or fetched once for all waiters."""
        now = time.time()
        policy = self._cache.get(origin)
        if policy is not None and policy.expires_at > now:
            self._cache.move_to_end(origin)
            self.crawler.stats.inc_value("policy/cache/hit")
            return policy
        pending = self._inflight.get(origin)
        if pending is None:
            self.crawler.stats.inc_value("policy/cache/miss")
            pending = self._inflight[origin] = Deferred()
            try:
                policy = await self._load(origin)
            except BaseException as exc:  # never leave waiters hanging
                del self._inflight[origin]
                pending.errback(exc)
                pending.addErrback(lambda _f: None)  # every waiter got it through _relay
                raise
            del self._inflight[origin]
            self._store(origin, policy)
            pending.callback(policy)
            return policy
        waiter: Deferred[OriginPolicy] = Deferred()
        pending.addBoth(_relay, waiter)  # awaiting ``pending`` itself would hand None to the next waiter
        return await maybe_deferred_to_future(waiter)

    def _store(self, origin: str, policy: OriginPolicy) -> None:
        self._cache[origin] = policy
        self._cache.move_to_end(origin)
        while len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)
            self.crawler.stats.inc_value("policy/cache/evicted")

    async def _load(self, origin: str) -> OriginPolicy:
        robots = await self._fetch_file(f"{origin}/robots.txt", "robots.txt")
        tdm = await self._fetch_file(f"{origin}/.well-known/tdmrep.json", "tdmrep.json")
        ai_txt = await self._fetch_file(f"{origin}/ai.txt", "ai.txt") if self.config.fetch_ai_txt else None
        # the policy is as old as its oldest file (another worker may have fetched it earlier)
        now = min([r.fetched_at for r in (robots, tdm, ai_txt) if r is not None and r.fetched_at] or [time.time()])
        policy = build_origin_policy(origin, robots, tdm, self.config, now=now, aitxt_result=ai_txt)
        if policy.robots is not None:
            urls = rsl.license_urls(policy.robots, base_url=f"{origin}/robots.txt")
            if urls:
                # RSL: a licence named in robots.txt is read before any content is fetched; one
                # beyond those read holds the origin (an unread licence may reserve)
                docs = tuple([await self._license(u) for u in urls[:MAX_LICENSE_DOCUMENTS]])
                docs += rsl.unread(urls[MAX_LICENSE_DOCUMENTS:], "too-many-licences", now=time.time())
                policy = build_origin_policy(origin, robots, tdm, self.config, now=now,
                                             aitxt_result=ai_txt, licenses=docs)
        self.crawler.signals.send_catch_log(signal=policy_loaded, origin=origin, policy=policy)
        logger.info(
            "Policy for %(origin)s: robots.txt %(robots)s, tdmrep.json %(tdm)s",
            {"origin": origin, "robots": policy.robots_file.detail, "tdm": policy.tdmrep_file.detail},
        )
        return policy

    async def _fetch_file(self, url: str, kind: str) -> FetchResult:
        """One policy file's fetch outcome, archived as evidence: fetched here, or in
        distributed mode taken from the worker that fetched it for the whole run."""
        if self.shared is None:
            result = await self._download_file(url, kind)
        else:
            result, elsewhere = await self.shared.get(url, lambda: self._download_file(url, kind))
            if elsewhere:
                self.crawler.stats.inc_value(f"policy/files/{kind}/shared")
        self.crawler.signals.send_catch_log(signal=policy_evidence, result=result)
        return result

    async def _download_file(self, url: str, kind: str) -> FetchResult:
        """Fetch one policy file through the engine; every failure becomes a FetchResult."""
        request = Request(
            url,
            priority=self.POLICY_PRIORITY,
            callback=NO_CALLBACK,
            dont_filter=True,
            meta={
                INTERNAL: True,
                "redirect_ttl": MAX_REDIRECTS,
                "download_maxsize": self.config.max_policy_bytes,
                "dont_merge_cookies": True,
                # no handle_httpstatus_all: it would stop RedirectMiddleware, and RFC 9309
                # asks crawlers to follow at least five redirects for robots.txt
            },
        )
        stats = self.crawler.stats
        try:
            assert self.crawler.engine is not None
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:
            error = _error_name(exc)
            stats.inc_value(f"policy/files/{kind}/error/{error}")
            result = FetchResult(url=url, status=None, kind=kind, error=error, fetched_at=time.time())
        else:
            stats.inc_value(f"policy/files/{kind}/status/{response.status}")
            result = FetchResult(
                url=url,
                status=response.status,
                body=response.body,
                kind=kind,
                headers={k.decode("latin-1").lower(): [v.decode("latin-1") for v in vs]
                         for k, vs in response.headers.items()},
                redirects=response.meta.get("redirect_times", 0),
                fetched_at=time.time(),
            )
        return result

    # -- signals on the response --------------------------------------------------------------

    def _head_meta(self, response: Response) -> list[tuple[str, str]]:
        if not isinstance(response, HtmlResponse):
            return []
        pairs = []
        for node in response.xpath("//head/meta[@name]"):
            name = (node.attrib.get("name") or "").strip().lower()
            pairs.append((name, node.attrib.get("content") or ""))
        return pairs

    def _head_license_links(self, response: Response) -> list[rsl.Link]:
        """``<link rel="license" ...>`` elements of the HTML head (RSL may be named there)."""
        if not isinstance(response, HtmlResponse):
            return []
        links = []
        for node in response.xpath("//head/link[@rel][@href]"):
            rel = tuple((node.attrib.get("rel") or "").lower().split())
            if "license" in rel:
                links.append(rsl.Link(target=node.attrib["href"], rel=rel,
                                      type=(node.attrib.get("type") or "").strip().lower()))
        return links

    async def _license(self, url: str) -> FetchResult:
        """An RSL licence document, fetched once per ``POLICY_CACHE_TTL`` (short after failure)."""
        now = time.time()
        cached = self._licenses.get(url)
        if cached is not None and cached[0] > now:
            self._licenses.move_to_end(url)
            return cached[1]
        result = await self._fetch_file(url, "rsl")
        ok = 200 <= (result.status or 0) < 300
        self._licenses[url] = (now + (self.config.cache_ttl if ok else self.config.failure_ttl), result)
        while len(self._licenses) > self.config.cache_size:
            self._licenses.popitem(last=False)
        return result

    def _signal_evidence(
        self, response: Response, headers: dict[str, list[str]], meta: list[tuple[str, str]]
    ) -> tuple[Evidence, ...]:
        """Archive the header block and meta elements that carried signals; name them."""
        evidence = []
        if headers:
            block = "".join(f"{k}: {v}\r\n" for k, vs in headers.items() for v in vs).encode("utf-8")
            evidence.append(self._archive(response, "headers", block, headers))
        token = self.config.agent_token.lower()
        signal_meta = [(n, c) for n, c in meta if (n in _SIGNAL_META or n == token) and _meaningful(n, c)]
        if signal_meta:
            block = "".join(f'<meta name="{n}" content="{c}">\n' for n, c in signal_meta).encode("utf-8")
            evidence.append(self._archive(response, "html-meta", block, {}))
        return tuple(evidence)

    def _archive(self, response: Response, kind: str, block: bytes, headers: dict[str, list[str]]) -> Evidence:
        result = FetchResult(url=response.url, status=response.status, body=block, kind=kind,
                             headers=headers, fetched_at=time.time())
        self.crawler.signals.send_catch_log(signal=policy_evidence, result=result)
        return Evidence(kind=kind, url=response.url, sha256=result.sha256)

    # -- decisions --------------------------------------------------------------------------

    def _failed(self, stage: str, url: str, exc: Exception) -> Decision:
        """The decision when checking itself failed: hold, logged with the traceback."""
        name = type(exc).__name__
        logger.error("Policy check failed for %(url)s; holding it", {"url": url}, exc_info=exc)
        self.crawler.stats.inc_value(f"policy/errors/{name}")
        return Decision(verdict=HOLD, stage=stage, url=url, reasons=(f"policy-error:{name}",))  # type: ignore[arg-type]

    def _send(
        self, decision: Decision, request: Request | None = None, response: Response | None = None
    ) -> list[tuple[Any, Any]]:
        stats = self.crawler.stats
        stats.inc_value(f"policy/decisions/{decision.stage}/{decision.verdict}")
        for family in decision.families:
            stats.inc_value(f"policy/reasons/{family}")
        return self.crawler.signals.send_catch_log(
            signal=policy_decided, decision=decision, request=request, response=response
        )

    def _enforce(
        self, decision: Decision, request: Request | None = None, response: Response | None = None
    ) -> list[tuple[Any, Any]]:
        results = self._send(decision, request, response)
        if decision.verdict != ALLOW:
            logger.debug(
                "%(verdict)s at %(stage)s stage: %(url)s (%(reasons)s)",
                {"verdict": decision.verdict, "stage": decision.stage, "url": decision.url,
                 "reasons": ", ".join(decision.reasons)},
            )
            raise PolicyRefusal(decision)
        return results


async def _durable(results: list[tuple[Any, Any]]) -> None:
    """Wait for every receiver of ``policy_decided`` that returned an awaitable: the
    provenance log returns one for a fetch-stage allow, completing once the row is durable,
    and failing (so the request is not sent) when it cannot be recorded. A receiver that
    raised stops the request too."""
    for _receiver, result in results:
        if isinstance(result, Failure):
            # a receiver raised (send_catch_log caught it): the row may not be recorded, so
            # the request is not sent
            result.raiseException()
        if inspect.isawaitable(result):
            await result


__all__ = ["PolicyGateMiddleware"]
