"""heed's benchmarks: what heed costs on top of plain Scrapy, and how fast its parts are.

``python3 -m bench`` runs everything and prints one table (see bench/README.md).
"""
