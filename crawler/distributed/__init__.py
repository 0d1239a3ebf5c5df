"""Distributed mode: several worker processes, on one machine or many, crawl one run
through one Redis server. See ``docs/distributed.md``."""
