"""Memory of the policy cache when a crawl touches thousands of hosts.

heed keeps one parsed policy per origin (scheme + host + port): robots.txt and tdmrep.json
as fetched, the parsed rules, the groups compiled on the first decision, and the
politeness pace read from it. A crawl of a large web touches ever more origins; the cache
must not grow with them. This benchmark fills the gate's real cache
(``PolicyGateMiddleware._store``, the LRU bounded by ``POLICY_CACHE_SIZE``) and the
politeness table that follows it (:class:`crawler.middlewares.politeness.PaceBook`) with
synthetic origins, each a typical ~2 KB robots.txt (several groups, AI-token groups, a
``Crawl-delay``, sitemaps) and a 404 tdmrep.json, takes one fetch decision per origin (which
compiles its groups, as the first real request does), and reports:

* *traced peak* / *traced kept*: Python allocations (``tracemalloc``) at their highest while
  filling, and still held once filled;
* *RSS growth* / *RSS peak*: the process's resident memory gained while filling, and its
  high-water mark (``VmRSS`` / ``VmHWM``), from a second run without ``tracemalloc``;
* *ms/origin*: the fill time per origin (parse, first decision, store), untraced.

Each figure comes from a fresh process, so nothing carries over between scenarios.

    python3 -m bench.policy_cache_memory            # 1,000 and 10,000 origins, bounded and not
    python3 -m bench.policy_cache_memory --origins 1000,10000,50000 --bound 1000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from types import SimpleNamespace
from typing import Any

#: "unbounded" is an LRU larger than any scenario: nothing is ever evicted.
UNBOUNDED = 10**9


def robots_body(host: str) -> bytes:
    """A typical ~2 KB robots.txt, different for every host (nothing shared between origins)."""
    lines = [
        f"# robots.txt for {host}",
        "User-agent: *",
        "Crawl-delay: 1",
        *(f"Disallow: /{part}/" for part in ("admin", "cart", "checkout", "search", "private", "tmp", "cgi-bin")),
        "Disallow: /*?sessionid=",
        "Disallow: /*.pdf$",
        "Allow: /search/about",
        "",
    ]
    for token in ("GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "anthropic-ai", "Bytespider",
                  "PerplexityBot", "Amazonbot", "Applebot-Extended", "meta-externalagent"):
        lines += [f"User-agent: {token}", "Disallow: /music/", "Disallow: /lyrics/", ""]
    lines += ["User-agent: Scrapy", "Disallow: /api/", ""]
    lines += [f"Sitemap: https://{host}/sitemap-{i}.xml" for i in range(6)]
    body = "\n".join(lines) + "\n"
    body += "# " + ("padding to a typical size " * 40)[: max(0, 2048 - len(body) - 3)] + "\n"
    return body.encode()


class _Stats:
    def inc_value(self, *args: Any, **kwargs: Any) -> None:
        pass


def measure(origins: int, bound: int, *, traced: bool) -> dict[str, Any]:
    """Fill the gate's cache and the pace table with ``origins`` origins; return the figures.

    With ``traced`` the Python allocations are followed (``tracemalloc``, which slows the
    fill several times and inflates RSS with its own bookkeeping); without it, the RSS and
    the fill time are the crawler's own.
    """
    from bench.memory import memory_kib
    from crawler.middlewares.gate import PolicyGateMiddleware
    from crawler.middlewares.politeness import PaceBook
    from crawler.policy.config import PolicyConfig
    from crawler.policy.fetchresult import FetchResult
    from crawler.policy.origin import build_origin_policy, fetch_decision
    from crawler.policy.politeness import PolitenessConfig, robots_pace
    from scrapy.settings import Settings

    from crawler import settings as heed_settings

    settings = Settings()
    settings.setmodule(heed_settings)
    settings.set("POLICY_CACHE_SIZE", bound, priority="cmdline")
    config = PolicyConfig.from_settings(settings)
    crawler = SimpleNamespace(stats=_Stats(), engine=None, settings=settings)
    gate = PolicyGateMiddleware(crawler, config)  # type: ignore[arg-type]
    book = PaceBook(crawler, PolitenessConfig.from_settings(settings))  # type: ignore[arg-type]
    bodies = [robots_body(f"label-{i:06d}.example") for i in range(origins)]  # inputs: not measured
    rss_before = memory_kib("VmRSS")
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        host = f"label-{i:06d}.example"
        origin = f"https://{host}:443"
        now = time.time()
        robots = FetchResult(url=f"{origin}/robots.txt", status=200, body=body, kind="robots.txt", fetched_at=now)
        tdm = FetchResult(url=f"{origin}/.well-known/tdmrep.json", status=404, kind="tdmrep.json", fetched_at=now)
        policy = build_origin_policy(origin, robots, tdm, config, now=now)
        fetch_decision(policy, f"{origin}/music/track-{i}.html", config)  # compiles the groups
        assert policy.robots is not None
        book.record(origin, host, robots_pace(policy.robots, config.agent_token, config.also_obey), robots)
        gate._store(origin, policy)
        bodies[i] = b""  # the crawler would not keep the download around
        del policy, robots, tdm
    elapsed = time.perf_counter() - started
    figures: dict[str, Any] = {"origins": origins, "bound": bound, "cached": len(gate._cache), "paces": len(book)}
    if traced:
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures.update(traced_peak_mib=peak / 2**20, traced_kept_mib=kept / 2**20)
    else:
        figures.update(
            rss_peak_mib=memory_kib("VmHWM") / 1024,
            rss_growth_mib=(memory_kib("VmRSS") - rss_before) / 1024,
            ms_per_origin=elapsed / origins * 1000,
        )
    return figures


def _scenario_in_child(origins: int, bound: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for mode in ("rss", "traced"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.policy_cache_memory", "--one", f"{origins}:{bound}:{mode}"],
            capture_output=True, text=True, check=True,
        )
        figures.update(json.loads(out.stdout.strip().splitlines()[-1]))
    return figures


def table(results: list[dict[str, Any]]) -> str:
    head = ("origins", "POLICY_CACHE_SIZE", "cached", "paces", "traced peak MiB", "traced kept MiB",
            "RSS growth MiB", "RSS peak MiB", "ms/origin")
    rows = [head]
    for r in results:
        bound = "unbounded" if r["bound"] >= UNBOUNDED else f"{r['bound']:,}"
        rows.append((f"{r['origins']:,}", bound, f"{r['cached']:,}", f"{r['paces']:,}",
                     f"{r['traced_peak_mib']:.1f}", f"{r['traced_kept_mib']:.1f}",
                     f"{r['rss_growth_mib']:.1f}", f"{r['rss_peak_mib']:.1f}", f"{r['ms_per_origin']:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(cell.rjust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.policy_cache_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--origins", default="1000,10000", help="comma-separated origin counts")
    parser.add_argument("--bound", type=int, default=1000, help="LRU bound for the bounded runs")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        origins, bound, mode = args.one.split(":")
        print(json.dumps(measure(int(origins), int(bound), traced=mode == "traced")))
        return 0
    counts = [int(x) for x in args.origins.split(",")]
    results = [_scenario_in_child(n, b) for n in counts for b in (args.bound, UNBOUNDED)]
    print(f"Policy cache memory, ~2 KB robots.txt per origin, one decision each (bound = {args.bound:,})\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
