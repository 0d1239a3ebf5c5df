"""Conditional requests for a recrawled job: ask "changed since?", remember what was answered.

Sits inside the policy gate (a higher order number than the gate and the politeness
middleware): the gate decides about a request *before* it is made conditional, and sees the
answer — a ``304`` included — *after* this middleware has marked it. So a ``304`` still gets
the gate's use-stage decision on its own headers: an ``X-Robots-Tag: noai`` or a
``tdm-reservation`` sent with a ``304`` is enforced like one sent with a ``200``.

Per content request:

* the crawl DB knows the URL, with validators taken under the same policy hash and by the
  same spider → ``If-None-Match`` / ``If-Modified-Since`` are added (``recrawl/conditional``);
* a ``304`` to such a request is marked unchanged (``recrawl/unchanged``);
  :class:`crawler.recrawl.spidermw.RecrawlSpiderMiddleware` keeps it from the spider;
* what is stored follows the gate's verdict (the ``policy_decided`` signal): a use-stage
  allow of a ``200`` stores its validators, body digest and request; of a ``304`` only when
  it was answered. Any other verdict or status stores the request without validators (so
  later runs schedule the page again) and forgets older ones, so the next run downloads it
  in full and reads every signal in it again; a failed download keeps the row but forgets
  its validators; a ``404``/``410`` forgets the URL.

Never conditional: policy files (meta ``INTERNAL``: robots.txt, tdmrep.json, ai.txt and
licences are read fresh every run), ranged requests (audio tags), methods other than GET,
requests that already carry a conditional header of their own, and pages the same run
fetched already (a resumed run re-reads them to find their links again).
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any, Final
from weakref import WeakKeyDictionary

from scrapy.exceptions import NotConfigured

from crawler.middlewares.guard import INTERNAL
from crawler.policy.decision import ALLOW, FETCH, USE
from crawler.recrawl.state import RecrawlState, recrawl_state
from crawler.signals import policy_decided

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

    from crawler.policy.decision import Decision

logger = logging.getLogger(__name__)

#: Meta key: this request was sent with validators from the crawl DB.
CONDITIONAL: Final = "heed_recrawl_conditional"
#: Meta key: the conditional request was answered ``304``; the spider does not parse it.
UNCHANGED: Final = "heed_recrawl_unchanged"

_VALIDATOR_HEADERS: Final = (b"If-None-Match", b"If-Modified-Since")
#: Meta keys that describe one download, not the request: never stored for the next run.
_TRANSIENT_META: Final = frozenset({
    "download_slot", "download_latency", "download_timeout", "download_maxsize", "download_warnsize",
    "redirect_times", "redirect_ttl", "redirect_urls", "redirect_reasons", "retry_times",
    "is_start_request", "proxy", "dont_proxy",
})
_GONE: Final = frozenset({404, 410})


def stored_request(request: Request, spider: Any) -> dict[str, Any] | None:
    """The request as the next run should schedule it: its ``to_dict()`` without this
    download's traces (validators, redirect and retry counters, heed's own meta keys) and
    without ``dont_filter``, so a page found both by links and in the DB is fetched once.
    None when its callback is not a spider method."""
    try:
        data = request.to_dict(spider=spider)
    except (ValueError, TypeError, AttributeError):
        return None
    data["headers"] = {k: v for k, v in data["headers"].items()
                       if k.lower() not in (b"if-none-match", b"if-modified-since")}
    data["meta"] = {k: v for k, v in (data.get("meta") or {}).items()
                    if k not in _TRANSIENT_META and not k.startswith(("_", "heed_"))}
    data["dont_filter"] = False
    return data


class RecrawlMiddleware:
    """Downloader middleware; see the module docstring."""

    def __init__(self, crawler: Crawler, state: RecrawlState) -> None:
        self.crawler = crawler
        self.state = state
        self.stats = crawler.stats
        #: requests made conditional-capable, with what to store if the gate allows them
        self._tracked: WeakKeyDictionary[Request, dict[str, Any]] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        state = recrawl_state(crawler)
        if state is None:
            raise NotConfigured  # no JOB_NAME, or RECRAWL_ENABLED off: nothing to say
        middleware = cls(crawler, state)
        crawler.signals.connect(middleware.policy_decided, signal=policy_decided)
        return middleware

    def process_request(self, request: Request) -> None:
        if request.meta.get(INTERNAL) or request.method != "GET" or b"Range" in request.headers:
            return
        if request.meta.pop(CONDITIONAL, False):  # a retry copy: drop the last attempt's validators
            for name in _VALIDATOR_HEADERS:
                request.headers.pop(name, None)
        request.meta.pop(UNCHANGED, None)
        if any(name in request.headers for name in _VALIDATOR_HEADERS):
            return  # the spider made it conditional itself
        snapshot = stored_request(request, self.crawler.spider)
        if snapshot is None:
            return
        self._tracked[request] = snapshot
        page = self.state.store.get(request.url)
        if (page is None or not page.has_validators or page.policy_hash != self.state.policy_hash
                or page.spider != self.state.spider_name):
            return
        if page.run_id == self.state.run_id:
            # fetched earlier in this same run (a JOBDIR resume after a crash re-crawls from
            # the seeds): its links must be read again, so ask for the content, not "changed?"
            return
        if page.etag:
            request.headers[b"If-None-Match"] = page.etag
        if page.last_modified:
            request.headers[b"If-Modified-Since"] = page.last_modified
        request.meta[CONDITIONAL] = True
        self.stats.inc_value("recrawl/conditional")

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get(CONDITIONAL):
            if response.status == 304:
                request.meta[UNCHANGED] = True
                self.stats.inc_value("recrawl/unchanged")
            elif response.status == 200:
                self.stats.inc_value("recrawl/changed")
        return response

    # -- what the gate decided ------------------------------------------------------------

    def policy_decided(self, decision: Decision, request: Request | None = None,
                       response: Response | None = None) -> None:
        if request is None or request.meta.get(INTERNAL):
            return
        try:
            self._follow(decision, request, response)
        except Exception:  # the crawl DB is an optimisation: never let it break a decision
            logger.exception("Recrawl: could not update the crawl DB for %(url)s", {"url": request.url})
            self.stats.inc_value("recrawl/errors")

    def _follow(self, decision: Decision, request: Request, response: Response | None) -> None:
        store = self.state.store
        if decision.stage == FETCH:
            if decision.verdict != ALLOW and store.forget_validators(request.url):
                self.stats.inc_value("recrawl/forgotten")
            return
        if decision.stage != USE:
            return
        snapshot = self._tracked.pop(request, None)
        if snapshot is None:
            return
        allowed = decision.verdict == ALLOW
        if response is None:  # the download failed: nothing was checked, nothing is trusted
            if store.forget_validators(request.url):
                self.stats.inc_value("recrawl/forgotten")
        elif response.status in _GONE:
            if store.delete(request.url):
                self.stats.inc_value("recrawl/gone")
        elif response.status == 304 and request.meta.get(CONDITIONAL):
            if allowed:
                store.touch(request.url, run_id=self.state.run_id, status=304)
            elif store.forget_validators(request.url):
                self.stats.inc_value("recrawl/forgotten")
        else:
            # validators only from an allowed 200; any other answer is kept without them,
            # so later runs schedule the page again and download it in full
            keep = allowed and response.status == 200
            stored = store.record(
                request.url, spider=self.state.spider_name, run_id=self.state.run_id, status=response.status,
                etag=_header(response, b"ETag") if keep else None,
                last_modified=_header(response, b"Last-Modified") if keep else None,
                sha256=hashlib.sha256(response.body).hexdigest() if keep else None,
                policy_hash=self.state.policy_hash, request=snapshot, fetched_at=time.time(),
            )
            self.stats.inc_value("recrawl/stored" if stored else "recrawl/not_storable")

def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


__all__ = ["CONDITIONAL", "UNCHANGED", "RecrawlMiddleware", "stored_request"]
