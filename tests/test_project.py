"""Project hygiene that protects users: the right packages, no listening services."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

import crawler
import pipelines
from crawler import settings as heed_settings

ROOT = Path(__file__).resolve().parents[1]


def test_packages_are_imported_from_this_repository():
    # PyPI has unrelated packages called crawler and pipelines
    assert Path(crawler.__file__).resolve().parent == ROOT / "crawler"
    assert Path(pipelines.__file__).resolve().parent == ROOT / "pipelines"


def test_no_listening_service_is_enabled_by_default():
    settings = Settings()
    settings.setmodule(heed_settings)
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False


def test_scrapys_robots_middleware_is_replaced_by_the_gate():
    settings = Settings()
    settings.setmodule(heed_settings)
    mws = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    assert mws["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert mws["crawler.middlewares.gate.PolicyGateMiddleware"] is not None
    assert mws["crawler.middlewares.guard.NetworkGuardMiddleware"] < mws["crawler.middlewares.gate.PolicyGateMiddleware"]


def test_politeness_defaults_are_conservative():
    settings = Settings()
    settings.setmodule(heed_settings)
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getfloat("DOWNLOAD_DELAY") >= 1.0
    from crawler.middlewares.identity import IdentityConfig

    settings.set("IDENTITY_ALLOW_PLACEHOLDER", True)
    user_agent = IdentityConfig.from_settings(settings, token=settings["POLICY_AGENT_TOKEN"]).user_agent
    assert user_agent.startswith("heed/") and "(+http" in user_agent


def test_guard_refuses_a_download_handler_that_resolves_on_its_own():
    import pytest

    from crawler.middlewares.guard import NetworkGuardMiddleware

    settings = {k: getattr(heed_settings, k) for k in dir(heed_settings) if k.isupper()}
    settings["DOWNLOAD_HANDLERS"] = {"https": "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"}
    with pytest.raises(ValueError, match="DOWNLOAD_HANDLERS"):
        NetworkGuardMiddleware.from_crawler(get_crawler(settings_dict=settings))
