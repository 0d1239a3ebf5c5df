"""``scrapy policy URL [URL...]``: explain what heed would decide, fetching only policy files.

For each URL it runs the same network guard and policy gate a crawl runs, fetches the
origin's policy files (robots.txt, tdmrep.json) and nothing else, and prints both questions
separately — may heed fetch the URL? may its content enter the dataset? — with every
signal consulted, the rule and line that matched, and the final verdict. Response-level
signals (headers, HTML meta) need the content itself and are not consulted here.

``--json`` prints one JSON object per URL per line (keys: url, fetch, use, final, reasons,
evidence, rules, signals) for scripts; ``--agent TOKEN`` evaluates as another product token
would (what does this site say to GPTBot?).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

from crawler.config import get_policy_config
from crawler.middlewares.gate import PolicyGateMiddleware
from crawler.middlewares.guard import NetworkGuardMiddleware
from crawler.policy.decision import ALLOW, DENY, FETCH, USE, Decision, combine
from crawler.policy.origin import fetch_question, origin_of, use_question


@dataclass
class Explanation:
    url: str
    fetch: Decision
    use: Decision
    final: Decision
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        final = self.final
        return {
            "url": self.url,
            "fetch": self.fetch.verdict,
            "use": self.use.verdict,
            "final": final.verdict,
            "reasons": list(final.reasons),
            "evidence": [{"kind": e.kind, "url": e.url, "sha256": e.sha256} for e in final.evidence],
            "rules": list(final.rules),
            "signals": [{"name": n, "value": v} for n, v in final.signals],
            "fetch_reasons": list(self.fetch.reasons),
            "use_reasons": list(self.use.reasons),
            "notes": self.notes,
        }

    def as_text(self) -> str:
        lines = [self.url]
        for label, d in (("may fetch?", self.fetch), ("may use?  ", self.use)):
            reasons = f"  ({', '.join(d.reasons)})" if d.reasons else ""
            lines.append(f"  {label} {d.verdict}{reasons}")
            for rule in d.rules:
                lines.append(f"      rule: {rule}")
        signals = self.final.signals
        if signals:
            lines.append("  signals:")
            lines += [f"      {n}: {v}" for n, v in signals]
        if self.final.evidence:
            lines.append("  evidence:")
            lines += [f"      {e.kind} {e.url} sha256:{e.sha256[:16]}…" for e in self.final.evidence]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  final: {self.final.verdict}")
        return "\n".join(lines)


def _component(crawler: Any, cls: type) -> Any:
    for mw in crawler.engine.downloader.middleware.middlewares:
        if isinstance(mw, cls):
            return mw
    raise RuntimeError(f"{cls.__name__} is not enabled in DOWNLOADER_MIDDLEWARES")


class PolicySpider(Spider):
    """Makes no content request: it asks the gate for each URL's policy and records it."""

    name = "heed-policy"

    def __init__(self, urls: list[str], results: list[Explanation], agent: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.results = results
        self.agent = agent

    async def start(self) -> AsyncIterator[Request]:
        gate = _component(self.crawler, PolicyGateMiddleware)
        guard = _component(self.crawler, NetworkGuardMiddleware)
        config = get_policy_config(self.crawler)
        if self.agent:
            # evaluate as another crawler would, while still identifying as heed on the wire
            config = dataclasses.replace(config, agent_token=self.agent)
        for url in self.urls:
            self.results.append(await self.explain(url, gate, guard, config))
        return
        yield  # an async generator that yields nothing

    async def explain(self, url: str, gate: Any, guard: Any, config: Any) -> Explanation:
        refusal = guard.refusal_for(Request(url))
        if refusal is not None:
            d = Decision(verdict=DENY, stage=FETCH, url=url, reasons=(f"security:{refusal}",))
            return Explanation(url, d, Decision(verdict=DENY, stage=USE, url=url), d,
                               ["refused by the network guard; no policy file was fetched"])
        registry = config.registry.url_finding(url)
        if registry.verdict != ALLOW:
            d = combine([registry], stage=FETCH, url=url)
            return Explanation(url, d, combine([registry], stage=USE, url=url), d,
                               ["listed in a rights-holder registry; no policy file was fetched"])
        policy = await gate.origin_policy(origin_of(url))
        fetch = fetch_question(policy, url, config, registry=registry)
        use = use_question(policy, url, config)
        return Explanation(
            url,
            combine(fetch, stage=FETCH, url=url),
            combine(use, stage=USE, url=url),
            combine(fetch + use, stage=FETCH, url=url),
            ["response headers and HTML meta are checked only when the content is fetched"],
        )


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "[options] URL [URL ...]"

    def short_desc(self) -> str:
        return "Explain heed's decision for URLs, fetching only their policy files"

    def long_desc(self) -> str:
        return __doc__ or ""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="one JSON object per URL per line")
        parser.add_argument("--agent", metavar="TOKEN", help="evaluate as this product token (e.g. GPTBot)")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if not args:
            raise UsageError("give at least one URL")
        for url in args:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"not an absolute http(s) URL: {url!r}")
        if opts.agent and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", opts.agent):
            raise UsageError(f"--agent must be a product token (letters, digits, '_', '-'), got {opts.agent!r}")
        overrides: dict[str, Any] = {"ITEM_PIPELINES": {}, "LOG_LEVEL": "WARNING", "LOGSTATS_INTERVAL": 0}
        for name, value in overrides.items():
            if (self.settings.getpriority(name) or 0) < SETTINGS_PRIORITIES["cmdline"]:
                self.settings.set(name, value, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None
        results: list[Explanation] = []
        self.crawler_process.crawl(PolicySpider, urls=list(args), results=results, agent=opts.agent)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed or len(results) != len(args):
            self.exitcode = 1
            return
        for explanation in results:
            print(json.dumps(explanation.as_json()) if opts.json else explanation.as_text() + "\n")
