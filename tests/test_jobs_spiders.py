"""A spider whose callback raises, for the exit-status tests (``SPIDER_MODULES`` adds this module).

It holds no tests; it lives under the job tests' name so it ships with them.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from crawler.spiders.music import MusicSpider


class FailingSpider(MusicSpider):
    """The music spider, except that every callback raises."""

    name = "jobs-failing"

    def parse(self, response: Response, **kwargs: Any) -> Any:
        raise RuntimeError(f"spider bug on {response.url}")
