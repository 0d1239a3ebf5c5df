"""Micro-benchmarks of heed's parts, in this process, without Scrapy's engine.

Crawl runs are noisy (±15% run to run) and cannot show a cost of a few percent; these
time the parts the gate and the provenance log run per request, through their public entry
points, so a regression shows up here first.

Policy engine (:mod:`crawler.policy.origin`)
    *decisions/s on cached origins*: what the gate does per content request once an
    origin's files are cached: the registry check, ``origin_of``, the cache lookup and
    ``fetch_decision`` (robots.txt for heed's token, ``Scrapy`` and the AI-training tokens
    the file names, tdmrep.json), over every page URL of the benchmark web.
    *use decisions/s*: ``use_decision`` with a typical page's headers and meta.
    *first decision per origin*: ``build_origin_policy`` (parse robots.txt and
    tdmrep.json) plus the first ``fetch_decision`` (which compiles the groups it needs),
    for the benchmark's ~2 KB robots.txt and for a generated 500 KiB one.

Provenance log (:mod:`pipelines.provenance`)
    *rows/s*: decisions sent on ``policy_decided`` to a ``ProvenancePipeline`` built by
    Scrapy's ``build_from_crawler``, from ``spider_opened`` until ``spider_closed`` has
    written every part and the manifest; *bytes per row* on disk.
    *PartWriter rows/s*: the Parquet layer alone (prebuilt row dicts, ``append`` then
    ``close``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.report import Row
from bench.site import BenchSite


def _best_of(fn: Callable[[], int], repeats: int) -> list[float]:
    """Rates (operations per second) of ``repeats`` runs of ``fn`` (which returns its count)."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = fn()
        rates.append(count / (time.perf_counter() - start))
    return rates


def policy_settings(**overrides: Any) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def policy_config(**overrides: Any) -> Any:
    from crawler.policy.config import PolicyConfig

    return PolicyConfig.from_settings(policy_settings(**overrides))


def big_robots_txt(target_bytes: int = 500 * 1024) -> bytes:
    """A large robots.txt as some catalogue sites publish: thousands of rules, some wildcards."""
    lines = ["# generated: a catalogue that lists every withdrawn release", "User-agent: *"]
    n = 0
    size = sum(len(x) + 1 for x in lines)
    while size < target_bytes - 2000:
        if n % 10 == 9:
            line = f"Disallow: /*/print/{n:05d}*.html$"
        elif n % 10 == 8:
            line = f"Disallow: /releases/*/withdrawn-{n:05d}/"
        else:
            line = f"Disallow: /catalogue/{n:05d}/withdrawn-release/"
        lines.append(line)
        size += len(line) + 1
        n += 1
    lines += ["Allow: /tracks/", "", "User-agent: GPTBot", "User-agent: CCBot", "Disallow: /private/", ""]
    return ("\n".join(lines) + "\n").encode()


def _policy_for(origin: str, robots: bytes, tdmrep: bytes, config: Any, now: float) -> Any:
    from crawler.policy.fetchresult import FetchResult
    from crawler.policy.origin import build_origin_policy

    robots_result = FetchResult(url=f"{origin}/robots.txt", status=200, body=robots, kind="robots.txt",
                                headers={"content-type": ["text/plain"]}, fetched_at=now)
    tdm_result = FetchResult(url=f"{origin}/.well-known/tdmrep.json", status=200, body=tdmrep, kind="tdmrep.json",
                             headers={"content-type": ["application/json"]}, fetched_at=now)
    return build_origin_policy(origin, robots_result, tdm_result, config, now=now)


def policy_rows(site: BenchSite, *, repeats: int, decisions: int) -> list[Row]:
    from crawler.policy.decision import ALLOW, Evidence
    from crawler.policy.origin import fetch_decision, origin_of, use_decision

    config = policy_config()
    now = time.time()
    site = BenchSite(site.hosts, site.pages, port=site.port or 8080)
    cache: dict[str, Any] = {}
    first_costs: list[float] = []
    for host in site.host_names():
        origin = f"http://{host}:{site.port}"
        start = time.perf_counter()
        policy = _policy_for(origin, site.robots_txt(host), site.tdmrep_json(host), config, now)
        fetch_decision(policy, f"{origin}/tracks/0000.html", config)
        first_costs.append(time.perf_counter() - start)
        cache[origin_of(origin + "/")] = policy
    urls = [f"http://{h}:{site.port}{p}" for h, p in site.urls()]
    urls = (urls * (decisions // len(urls) + 1))[:decisions]
    registry = config.registry

    def gate_path() -> int:
        denied = 0
        for url in urls:
            found = registry.url_finding(url)
            if found.verdict != ALLOW:
                denied += 1
                continue
            decision = fetch_decision(cache[origin_of(url)], url, config, registry=found)
            if decision.verdict != ALLOW:
                denied += 1
        if denied:
            raise RuntimeError(f"{denied} benchmark URLs were not allowed; the bench web changed meaning")
        return len(urls)

    def floor() -> int:
        from urllib.parse import urlsplit

        for url in urls:
            parts = urlsplit(url)
            cache.get(f"{parts.scheme}://{parts.hostname}:{parts.port}")
        return len(urls)

    meta = [("viewport", "width=device-width, initial-scale=1"), ("description", "Track, released on Label."),
            ("robots", "index, follow")]
    evidence = (Evidence(kind="html-meta", url=urls[0], sha256="0" * 64),)
    use_urls = urls[: max(1, len(urls) // 4)]

    def use_path() -> int:
        for url in use_urls:
            use_decision(cache[origin_of(url)], url, config, status=200, headers={}, meta=meta,
                         content_type="text/html; charset=utf-8", evidence=evidence)
        return len(use_urls)

    big = big_robots_txt()
    big_first: list[float] = []
    big_policy = None
    for _ in range(repeats):
        start = time.perf_counter()
        big_policy = _policy_for("http://big.test:80", big, site.tdmrep_json("big.test"), config, now)
        fetch_decision(big_policy, "http://big.test/tracks/0001.html", config)
        big_first.append(time.perf_counter() - start)
    big_urls = [f"http://big.test{p}" for _, p in list(site.urls())[:2000]]

    def big_path() -> int:
        for url in big_urls:
            fetch_decision(big_policy, url, config)
        return len(big_urls)

    section = "2 policy engine"
    return [
        Row(section, "fetch decisions/s, cached origins (gate path)", "1/s", _best_of(gate_path, repeats),
            target=200_000, note=f"{len(urls):,} URLs over {site.hosts} origins, one core"),
        Row(section, "floor: urlsplit + dict lookup", "1/s", _best_of(floor, repeats),
            note="what any per-URL lookup costs in Python"),
        Row(section, "use decisions/s (headers + meta)", "1/s", _best_of(use_path, repeats)),
        Row(section, "first decision per origin, 2 KB robots.txt", "ms", [c * 1e3 for c in first_costs],
            higher_is_better=False, digits=2, note=f"parse + compile, {len(site.robots_txt('x.test')):,} B, {len(first_costs)} origins"),
        Row(section, "first decision per origin, 500 KiB robots.txt", "ms", [c * 1e3 for c in big_first],
            higher_is_better=False, digits=1, note=f"{len(big):,} B, {big.count(b'Disallow')} rules"),
        Row(section, "fetch decisions/s on the 500 KiB origin", "1/s", _best_of(big_path, repeats)),
    ]


def _typical_decision(n: int, evidence: Sequence[Any]) -> Any:
    from crawler.policy.decision import Decision

    return Decision(
        verdict="allow", stage="fetch", url=f"http://label-{n % 100:03d}.test/tracks/{n % 10000:04d}.html",
        evidence=tuple(evidence), rules=("robots.txt:9 Allow: /tracks/",),
        signals=(("robots.txt status", "200"), ("tdmrep.json status", "200")),
    )


def provenance_settings(work: Path, run_id: str) -> dict[str, Any]:
    """heed's settings, writing to ``work``, for a crawler that is never started."""
    from crawler import settings as heed_settings

    base = {k: v for k, v in vars(heed_settings).items() if k.isupper()}
    return {
        **base,
        "PROVENANCE_DIR": str(work),
        "PROVENANCE_RUN_ID": run_id,
        "PROVENANCE_WORKER": "w1",
        "LOGSTATS_INTERVAL": 0,
        "MEMUSAGE_ENABLED": False,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": heed_settings.DOWNLOADER_MIDDLEWARES,
    }


def _pipeline_once(work: Path, run_id: str, rows: int) -> tuple[float, int, int]:
    """Seconds from spider_opened to a closed log with ``rows`` decisions; rows and bytes on disk."""
    from scrapy import signals
    from scrapy.utils.misc import build_from_crawler
    from scrapy.utils.test import get_crawler

    from crawler import signals as heed_signals
    from crawler.policy.decision import Evidence
    from pipelines.manifest import load_manifest
    from pipelines.provenance import ProvenancePipeline

    crawler = get_crawler(settings_dict=provenance_settings(work, run_id))
    pipeline = build_from_crawler(ProvenancePipeline, crawler)  # signals hold it weakly: keep it
    evidence = (Evidence("robots.txt", "http://label-000.test/robots.txt", "a" * 64),
                Evidence("tdmrep.json", "http://label-000.test/.well-known/tdmrep.json", "b" * 64))
    decisions = [_typical_decision(n, evidence) for n in range(rows)]
    send = crawler.signals.send_catch_log
    start = time.perf_counter()
    send(signals.spider_opened, spider=None)
    for decision in decisions:
        send(heed_signals.policy_decided, decision=decision)
    send(signals.spider_closed, spider=None, reason="finished")
    seconds = time.perf_counter() - start
    del pipeline
    manifest = load_manifest(work / run_id)
    files = [f for w in manifest["workers"].values() for f in w["files"] if f["kind"] == "decisions"]
    return seconds, sum(f["rows"] for f in files), sum(f["bytes"] for f in files)


def _part_writer_once(work: Path, rows: int) -> float:
    from pipelines.parquet import PartWriter
    from pipelines.schema import DECISIONS

    row = {
        "run_id": "bench", "worker": "w1", "seq": 0, "ts": 1_700_000_000_000_000, "stage": "fetch",
        "verdict": "allow", "reasons": [], "url": "", "origin": "http://label-000.test:80", "http_status": None,
        "evidence": [{"kind": "robots.txt", "url": "http://label-000.test/robots.txt", "sha256": "a" * 64}],
        "item_type": None, "item_id": None, "policy_hash": "c" * 64, "rules": ["robots.txt:9 Allow: /tracks/"],
        "signals": [{"name": "robots.txt status", "value": "200"}], "agent_token": "heed", "strict": True,
    }
    row = {k: v for k, v in row.items() if k in DECISIONS.names}
    for name in DECISIONS.names:  # columns this bench does not know: null, or empty lists
        if name not in row and not DECISIONS.field(name).nullable:
            row[name] = [] if str(DECISIONS.field(name).type).startswith("list") else _filler(DECISIONS.field(name).type)
    rows_list = [dict(row, seq=n + 1, url=f"http://label-000.test/tracks/{n:06d}.html") for n in range(rows)]
    writer = PartWriter(work, DECISIONS, prefix="decisions-bench", rows_per_part=10_000)
    start = time.perf_counter()
    for r in rows_list:
        writer.append(r)
        if writer.should_flush():
            writer.flush()
    writer.close()
    return time.perf_counter() - start


def _filler(type_: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_string(type_):
        return ""
    if pa.types.is_boolean(type_):
        return False
    return 0


def provenance_rows(work: Path, *, repeats: int, rows: int) -> list[Row]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rates, sizes, writer_rates = [], [], []
    for i in range(repeats):
        seconds, written, size = _pipeline_once(work / "pipeline", f"bench-{i}", rows)
        if written != rows:
            raise RuntimeError(f"provenance log wrote {written} rows of {rows}")
        rates.append(rows / seconds)
        sizes.append(size / rows)
        part_dir = work / f"parts-{i}"
        writer_rates.append(rows / _part_writer_once(part_dir, rows))
    shutil.rmtree(work, ignore_errors=True)
    section = "3 provenance log"
    return [
        Row(section, "decision rows/s (policy_decided → closed log)", "1/s", rates, target=300_000,
            note=f"{rows:,} rows through ProvenancePipeline, parts and manifest included"),
        Row(section, "bytes per decision row on disk", "B", sizes, higher_is_better=False, digits=1,
            note="zstd Parquet, 10k-row parts"),
        Row(section, "PartWriter rows/s (prebuilt rows)", "1/s", writer_rates,
            note="the Parquet layer alone"),
    ]


__all__ = ["big_robots_txt", "policy_config", "policy_rows", "provenance_rows"]
