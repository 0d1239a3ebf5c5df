"""Memory of the policy cache with many origins.

A broad crawl keeps up to ``POLICY_CACHE_SIZE`` (10,000) origins' parsed policy files in
memory. For each size this starts a fresh process (``python -m bench.scale N``) that builds
N distinct origins' :class:`~crawler.policy.origin.OriginPolicy` from the benchmark's
typical robots.txt (~2 KB) and tdmrep.json with :func:`~crawler.policy.origin.build_origin_policy`,
takes one ``fetch_decision`` per origin (so each keeps the groups it compiles, as in a
crawl), keeps them all in an ``OrderedDict`` as the gate does, and reports its resident
memory above what it used before, and the peak.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from bench.memory import memory_kib
from bench.report import Row
from bench.site import BenchSite, host_name

ROOT = Path(__file__).resolve().parents[1]


def child(count: int) -> dict[str, Any]:
    import gc

    from bench.micro import _policy_for, policy_config
    from crawler.policy.origin import fetch_decision

    config = policy_config()
    site = BenchSite(1, 1)
    robots = [site.robots_txt(host_name(i % 1000) + f".n{i // 1000}") for i in range(count)]
    tdm = [site.tdmrep_json(host_name(i % 1000) + f".n{i // 1000}") for i in range(count)]
    gc.collect()
    before = memory_kib("VmRSS")
    now = time.time()
    cache: OrderedDict[str, Any] = OrderedDict()
    start = time.perf_counter()
    for i in range(count):
        origin = f"http://{host_name(i % 1000)}.n{i // 1000}.test:80"
        policy = _policy_for(origin, robots[i], tdm[i], config, now)
        fetch_decision(policy, origin + "/tracks/0001.html", config)
        cache[origin] = policy
    seconds = time.perf_counter() - start
    del robots, tdm  # the cache keeps its own references to the bodies it holds
    gc.collect()
    after = memory_kib("VmRSS")
    return {"count": len(cache), "rss_kib": after - before, "peak_kib": memory_kib("VmHWM"),
            "before_kib": before, "seconds": seconds}


def measure(count: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "bench.scale", str(count)], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"scale child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def scale_rows(sizes: tuple[int, ...]) -> list[Row]:
    rows = []
    for count in sizes:
        r = measure(count)
        rows.append(Row("5 scale", f"policy cache, {count:,} origins: memory", "MiB", [r["rss_kib"] / 1024],
                        higher_is_better=False, digits=1,
                        note=f"{r['rss_kib'] / count:.1f} KiB per origin; peak RSS {r['peak_kib'] / 1024:.0f} MiB; "
                             f"built in {r['seconds']:.1f} s"))
    return rows


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]))))
