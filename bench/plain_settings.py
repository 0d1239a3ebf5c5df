"""Settings of the plain-Scrapy baseline: what a careful Scrapy user would run without heed.

Selected with ``SCRAPY_SETTINGS_MODULE=bench.plain_settings``. It runs heed's own ``music``
spider (the same link following and JSON-LD extraction, so the spider's cost is equal on
both sides) with Scrapy's ``RobotsTxtMiddleware`` on, items written to a JSON-lines feed
(given per run with ``-s FEEDS=...``), and none of heed's middlewares, pipelines or
resolver. Concurrency, item concurrency, depth and log level equal heed's defaults;
politeness delays are off on both sides (the benchmark passes the same overrides to heed).
"""

from __future__ import annotations

from crawler import settings as _heed

BOT_NAME = "plainbench"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
USER_AGENT = "plainbench/1.0 (+https://example.invalid/bench)"

ROBOTSTXT_OBEY = True
TWISTED_DNS_RESOLVER = "bench.resolver.MappedResolver"
# Host name -> IP address, like heed's POLICY_RESOLVE (set per run).
BENCH_RESOLVE: dict[str, str] = {}

CONCURRENT_REQUESTS = _heed.CONCURRENT_REQUESTS
CONCURRENT_REQUESTS_PER_DOMAIN = _heed.CONCURRENT_REQUESTS_PER_DOMAIN
CONCURRENT_ITEMS = _heed.CONCURRENT_ITEMS
DEPTH_LIMIT = _heed.DEPTH_LIMIT
DOWNLOAD_TIMEOUT = _heed.DOWNLOAD_TIMEOUT
DOWNLOAD_MAXSIZE = _heed.DOWNLOAD_MAXSIZE
DOWNLOAD_WARNSIZE = _heed.DOWNLOAD_WARNSIZE
REDIRECT_MAX_TIMES = _heed.REDIRECT_MAX_TIMES
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = False

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = _heed.LOG_LEVEL
FEED_EXPORT_ENCODING = "utf-8"
