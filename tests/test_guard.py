"""The network guard and the guarded resolver as components (no network needed).

The end-to-end proof is tests/test_guard_e2e.py; these pin down the parts a crawl cannot
isolate: policy-file requests, the size and time limits every request keeps, the
``GUARD_HOSTS`` answers, and that every DNS answer is checked on its own (DNS rebinding).
"""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet.base import ThreadedResolver
from twisted.internet.error import DNSLookupError

from crawler import settings as heed_settings
from crawler.exceptions import PolicyRefusal
from crawler.middlewares.guard import INTERNAL, NetworkGuardMiddleware
from crawler.middlewares.resolver import GuardedResolver, refused_host
from crawler.signals import policy_decided


def heed_crawler(**overrides):
    settings = {k: getattr(heed_settings, k) for k in dir(heed_settings) if k.isupper()}
    settings.update(overrides)
    return get_crawler(settings_dict=settings)


def guard_and_decisions(**overrides):
    crawler = heed_crawler(**overrides)
    decisions = []
    crawler.signals.connect(lambda decision, **_: decisions.append(decision), signal=policy_decided, weak=False)
    return NetworkGuardMiddleware.from_crawler(crawler), crawler, decisions


def run(coro):
    return asyncio.run(coro)


def test_a_policy_file_request_to_a_private_address_is_refused_without_a_decision_row():
    guard, crawler, decisions = guard_and_decisions()
    request = Request("http://127.0.0.2:8080/robots.txt", meta={INTERNAL: True})
    with pytest.raises(PolicyRefusal) as refused:
        run(guard.process_request(request))
    assert refused.value.decision.reasons == ("security:loopback",)
    assert crawler.stats.get_value("policy/security/loopback") == 1
    assert decisions == []  # the gate turns it into robots.unreachable:security for the content


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.2:8080/", "security:loopback"),
        ("http://[::ffff:10.0.0.7]/", "security:private"),
        ("http://169.254.169.254/latest/meta-data/", "security:link-local"),
        ("http://[fe80::1]/", "security:link-local"),
        ("http://224.0.0.1/", "security:multicast"),
        ("http://0.0.0.0/", "security:unspecified"),
        ("ftp://files.example/", "security:scheme-ftp"),
        ("file:///etc/passwd", "security:scheme-file"),
    ],
)
def test_scheduled_requests_are_judged_before_the_offsite_filter(url, reason):
    guard, _, decisions = guard_and_decisions()
    with pytest.raises(PolicyRefusal):
        guard.request_scheduled(Request(url))
    assert [d.reasons for d in decisions] == [(reason,)]


def test_policy_resolve_hosts_pass_and_public_literals_pass():
    guard, _, decisions = guard_and_decisions(POLICY_RESOLVE={"door.test": "127.0.0.1"})
    guard.request_scheduled(Request("http://door.test:8080/"))
    guard.request_scheduled(Request("http://93.184.215.14/"))
    assert decisions == []


def test_every_download_keeps_a_size_limit_and_a_timeout():
    guard, _, _ = guard_and_decisions(POLICY_RESOLVE={"door.test": "127.0.0.1"})
    unlimited = Request("http://door.test/", meta={"download_maxsize": 0, "download_timeout": 0})
    run(guard.process_request(unlimited))
    assert unlimited.meta["download_maxsize"] == heed_settings.DOWNLOAD_MAXSIZE
    assert unlimited.meta["download_timeout"] == heed_settings.DOWNLOAD_TIMEOUT
    tighter = Request("http://door.test/", meta={"download_maxsize": 1000, "download_timeout": 5})
    run(guard.process_request(tighter))
    assert (tighter.meta["download_maxsize"], tighter.meta["download_timeout"]) == (1000, 5)
    plain = Request("http://door.test/")
    run(guard.process_request(plain))
    assert "download_maxsize" not in plain.meta  # the settings apply


@pytest.mark.parametrize("name", ["DOWNLOAD_MAXSIZE", "DOWNLOAD_TIMEOUT"])
@pytest.mark.parametrize("value", [0, -1, "none"])
def test_the_guard_refuses_to_run_without_download_limits(name, value):
    with pytest.raises(ValueError, match=name):
        NetworkGuardMiddleware.from_crawler(heed_crawler(**{name: value}))


def _answer(d: defer.Deferred) -> object:
    out: list[object] = []
    d.addBoth(out.append)
    return out[0].value if hasattr(out[0], "value") else out[0]


def test_guard_hosts_answers_are_checked_like_dns():
    resolver = GuardedResolver(None, 0, 5.0, {"door.test": "127.0.0.1"},
                               {"inner.door.test": "127.0.0.2", "public.door.test": "93.184.215.14",
                                "mapped.door.test": "::ffff:10.1.2.3"})
    assert _answer(resolver.getHostByName("door.test")) == "127.0.0.1"  # POLICY_RESOLVE: exempt
    assert _answer(resolver.getHostByName("public.door.test")) == "93.184.215.14"
    for name, reason in (("inner.door.test", "loopback"), ("mapped.door.test", "private")):
        assert isinstance(_answer(resolver.getHostByName(name)), DNSLookupError)
        assert refused_host(name) == reason


def test_each_dns_answer_is_checked_so_a_rebinding_name_cannot_get_through(monkeypatch):
    answers = iter(["93.184.215.14", "127.0.0.2", "93.184.215.14"])
    monkeypatch.setattr(ThreadedResolver, "getHostByName", lambda self, name, timeout=(): defer.succeed(next(answers)))
    resolver = GuardedResolver(None, 0, 5.0, {})  # no DNS cache: every connection asks again
    name = "rebind.heed-guard-test.example"
    # the value the resolver returns is what the connection uses, and it is the checked one
    assert _answer(resolver.getHostByName(name)) == "93.184.215.14"
    assert isinstance(_answer(resolver.getHostByName(name)), DNSLookupError)
    assert refused_host(name) == "loopback"
    assert _answer(resolver.getHostByName(name)) == "93.184.215.14"
