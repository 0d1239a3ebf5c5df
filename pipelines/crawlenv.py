"""What the provenance log reads about the crawl it records, and how it stops it.

Kept apart from :mod:`pipelines.provenance` (the signal handlers) because each piece is a
small question about the crawl's configuration: which safety middlewares really run, which
User-Agent requests carry, which registry and token files are in force.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from scrapy.exceptions import DropItem

import crawler
from pipelines.records import EvidenceEntry

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.policy.config import PolicyConfig

logger = logging.getLogger(__name__)

#: The downloader middlewares without which a run's decisions cannot be trusted.
SAFETY_COMPONENTS: Final = {
    "policy_gate": "crawler.middlewares.gate.PolicyGateMiddleware",
    "network_guard": "crawler.middlewares.guard.NetworkGuardMiddleware",
}


def configured_user_agent(settings: Any) -> str | None:
    """The User-Agent requests carry (``USER_AGENT``, else the identity middleware's
    ``<token>/<version> (+<IDENTITY_CONTACT_URL>)``): fetch-stage rows are written before
    that middleware has set the header on the request."""
    explicit = (settings.get("USER_AGENT") or "").strip()
    if explicit:
        return explicit
    contact = (settings.get("IDENTITY_CONTACT_URL") or "").strip()
    token = settings.get("POLICY_AGENT_TOKEN") or "heed"
    return f"{token}/{crawler.__version__} (+{contact})" if contact else None


class ProvenanceUnavailable(DropItem):
    """The provenance log failed earlier in this run, so items can no longer be kept."""

    reason_code = "provenance.error"


def enabled_components(settings: Any) -> dict[str, bool]:
    """Which safety middlewares the crawl really runs (a ``-s`` override can drop them)."""
    mws = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    return {name: mws.get(path) is not None for name, path in SAFETY_COMPONENTS.items()}


def policy_resources(policy: PolicyConfig) -> list[EvidenceEntry]:
    """The registries and the AI-token list in force, as ``resource`` evidence."""
    files = [("registry", path) for path, _sha in policy.registry.sources]
    return [EvidenceEntry.of_file(kind, path) for kind, path in [*files, ("ai-tokens", policy.ai_tokens.path)]]


def request_close(crawler: Crawler) -> None:
    """Ask the engine to stop the crawl: crawling on without a working log is not allowed."""
    try:
        engine = crawler.engine
    except (AttributeError, RuntimeError):  # the crawl has not started (or is gone)
        return
    if engine is None or getattr(engine, "spider", None) is None:
        return
    from scrapy.utils.defer import deferred_from_coro

    logger.error("Closing the spider: the provenance log cannot record decisions")
    closing = deferred_from_coro(engine.close_spider_async(reason="provenance_error"))
    closing.addErrback(lambda failure: logger.error("Could not close the spider: %(failure)s", {"failure": failure}))


__all__ = [
    "SAFETY_COMPONENTS",
    "ProvenanceUnavailable",
    "configured_user_agent",
    "enabled_components",
    "policy_resources",
    "request_close",
]
