"""Asks a remote opt-out registry (Spawning's Do-Not-Train API) about each content URL.

Optional and off by default (``POLICY_REMOTE_REGISTRY``). When it is on, a URL is fetched
only after the registry answered that it is not opted out: no key, an unreachable API, an
unexpected answer — every could-not-ask is a hold (the reference client skips the check
when no key is set, and so fails open). The pure request/answer handling lives in
:mod:`crawler.policy.remote_registry`; this module only sends the query through Scrapy's
engine (so the network guard sees it) and caches answers.

The API key is read from the environment variable named by
``POLICY_REMOTE_REGISTRY_KEY_ENV``; it is sent only in the request's Authorization header and
never logged or archived (the archived evidence is the registry's answer).
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.http.request import NO_CALLBACK

from crawler.middlewares.guard import INTERNAL
from crawler.policy import remote_registry
from crawler.policy.decision import HOLD, Evidence, Finding
from crawler.policy.fetchresult import FetchResult
from crawler.signals import policy_evidence

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.policy.config import PolicyConfig

logger = logging.getLogger(__name__)


class RemoteRegistryClient:
    """One query per URL not seen recently; definite answers cached, holds never cached."""

    PRIORITY = 1000

    def __init__(self, crawler: Crawler, config: PolicyConfig) -> None:
        self.crawler = crawler
        self.endpoint = config.remote_registry_endpoint
        self.key = os.environ.get(config.remote_registry_key_env, "")
        self.ttl = config.cache_ttl
        self.size = config.cache_size
        self._answers: OrderedDict[str, tuple[float, Finding]] = OrderedDict()
        if not self.key:
            logger.warning(
                "POLICY_REMOTE_REGISTRY is on but $%(env)s is empty: every URL will be held",
                {"env": config.remote_registry_key_env},
            )

    async def finding(self, url: str) -> Finding:
        now = time.time()
        cached = self._answers.get(url)
        if cached is not None and cached[0] > now:
            self._answers.move_to_end(url)
            return cached[1]
        if not self.key:
            return remote_registry.unconfigured_finding(url)
        result = await self._ask(url)
        evidence = Evidence(kind="registry-answer", url=self.endpoint, sha256=result.sha256)
        found = remote_registry.parse_answer(result.status, result.body, [url], evidence=evidence)[url]
        self.crawler.stats.inc_value(f"policy/remote_registry/{found.verdict}")
        if found.verdict != HOLD:
            self._answers[url] = (now + self.ttl, found)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return found

    async def _ask(self, url: str) -> FetchResult:
        request = Request(
            self.endpoint,
            method="POST",
            body=remote_registry.build_query([url]),
            headers=remote_registry.request_headers(self.key),
            priority=self.PRIORITY,
            callback=NO_CALLBACK,
            dont_filter=True,
            meta={INTERNAL: True, "dont_merge_cookies": True, "handle_httpstatus_all": True},
        )
        try:
            assert self.crawler.engine is not None
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:
            result = FetchResult(url=self.endpoint, status=None, kind="registry-answer",
                                 error=type(exc).__name__, fetched_at=time.time())
        else:
            result = FetchResult(url=self.endpoint, status=response.status, body=response.body,
                                 kind="registry-answer", fetched_at=time.time(),
                                 headers={k.decode("latin-1").lower(): [v.decode("latin-1") for v in vs]
                                          for k, vs in response.headers.items()})
        self.crawler.signals.send_catch_log(signal=policy_evidence, result=result)
        return result


__all__ = ["RemoteRegistryClient"]
