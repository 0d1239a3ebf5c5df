"""heed: a polite Scrapy crawler for music metadata that heeds every opt-out."""

__version__ = "0.1.0"
