"""Identity: an honest User-Agent and From header, and no real crawl with a placeholder contact."""

from __future__ import annotations

import pytest
from conftest import crawl, run_scrapy
from scrapy import Request
from scrapy.settings import Settings

from crawler import __version__
from crawler import settings as heed_settings
from crawler.middlewares.identity import IdentityConfig, IdentityError, IdentityMiddleware, is_placeholder_host

CONTACT = "https://music-data.acme-labs.dev/crawler"


def config(**overrides) -> IdentityConfig:
    settings = Settings()
    settings.setmodule(heed_settings)
    settings.setdict(overrides, priority="cmdline")
    return IdentityConfig.from_settings(settings, token="heed")


@pytest.mark.parametrize(
    ("host", "placeholder"),
    [
        ("example.invalid", True),
        ("contact.example", True),
        ("example.com", True),
        ("www.example.org", True),
        ("open.test", True),
        ("printer.local", True),
        ("localhost", True),
        ("music-data.acme-labs.dev", False),
        ("example.co.uk", False),
        ("notexample.com", False),
    ],
)
def test_placeholder_hosts(host, placeholder):
    assert is_placeholder_host(host) is placeholder


def test_the_user_agent_names_token_version_and_contact():
    assert config(IDENTITY_CONTACT_URL=CONTACT).user_agent == f"heed/{__version__} (+{CONTACT})"
    assert config(IDENTITY_CONTACT_URL=CONTACT).from_address is None


def test_the_placeholder_contact_stops_a_real_crawl():
    with pytest.raises(IdentityError, match="IDENTITY_CONTACT_URL"):
        config()
    allowed = config(IDENTITY_ALLOW_PLACEHOLDER=True)
    assert allowed.placeholder and "example.invalid" in allowed.user_agent


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"IDENTITY_CONTACT_URL": "mailto:ops@acme-labs.dev"}, "IDENTITY_CONTACT_URL"),
        ({"IDENTITY_CONTACT_URL": "https://acme-labs.dev/\r\nX-Evil: 1"}, "IDENTITY_CONTACT_URL"),
        ({"USER_AGENT": "Mozilla/5.0"}, "USER_AGENT"),
        ({"USER_AGENT": "heed (+https://acme-labs.dev/)"}, "USER_AGENT"),
        ({"USER_AGENT": "heed/1.0 (+https://example.com/bot)"}, "USER_AGENT"),
        ({"IDENTITY_CONTACT_URL": CONTACT, "IDENTITY_FROM": "not an address"}, "IDENTITY_FROM"),
        ({"IDENTITY_CONTACT_URL": CONTACT, "IDENTITY_FROM": "a@b.dev\r\nBcc: x@y.dev"}, "IDENTITY_FROM"),
        ({"IDENTITY_CONTACT_URL": CONTACT, "IDENTITY_FROM": "bot@example.org"}, "IDENTITY_FROM"),
    ],
)
def test_bad_identities_are_refused_naming_the_setting(overrides, setting):
    with pytest.raises(IdentityError, match=setting):
        config(**overrides)


def test_an_explicit_user_agent_is_kept_when_it_carries_token_version_and_contact():
    ua = f"heed/{__version__} (+https://acme-labs.dev/bot; research crawl)"
    assert config(USER_AGENT=ua).user_agent == ua


def test_headers_are_set_on_every_request_and_cannot_be_overridden():
    mw = IdentityMiddleware(config(IDENTITY_CONTACT_URL=CONTACT, IDENTITY_FROM="crawler@acme-labs.dev"))
    request = Request("http://open.test/", headers={"User-Agent": "Googlebot/2.1"})
    mw.process_request(request)
    assert request.headers[b"User-Agent"] == f"heed/{__version__} (+{CONTACT})".encode()
    assert request.headers[b"From"] == b"crawler@acme-labs.dev"


def test_non_ascii_identities_are_refused():
    with pytest.raises(IdentityError, match="ASCII"):
        config(IDENTITY_CONTACT_URL="https://müsik.acme-labs.dev/")
    with pytest.raises(IdentityError, match="IDENTITY_FROM"):
        config(IDENTITY_CONTACT_URL=CONTACT, IDENTITY_FROM="bücher@acme-labs.dev")


def test_a_crawl_refuses_to_start_with_the_placeholder_contact(tmp_path):
    proc = run_scrapy(["crawl", "music", "-a", "urls=http://open.test/", "-s", f"PROVENANCE_DIR={tmp_path}",
                       "-s", "IDENTITY_ALLOW_PLACEHOLDER=False"])  # overrides what the tests pass
    assert proc.returncode != 0
    assert "IDENTITY_CONTACT_URL" in proc.stderr and "placeholder" in proc.stderr


def test_every_request_the_server_sees_carries_the_identity(sample_web, tmp_path):
    run = crawl(sample_web, tmp_path / "runs", [sample_web.url("open.test")], settings={
        "IDENTITY_ALLOW_PLACEHOLDER": False, "IDENTITY_CONTACT_URL": CONTACT,
        "IDENTITY_FROM": "crawler@acme-labs.dev",
    })
    assert run.returncode == 0, run.stderr[-3000:]
    hits = sample_web.hits_snapshot()
    assert {h.path for h in hits} >= {"/robots.txt", "/.well-known/tdmrep.json", "/"}
    assert {h.headers.get("user-agent") for h in hits} == {f"heed/{__version__} (+{CONTACT})"}
    assert {h.headers.get("from") for h in hits} == {"crawler@acme-labs.dev"}
