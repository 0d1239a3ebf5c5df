"""A failure inside a check holds the URL: never an allow, never a lost decision.

These tests inject a fault into one pure function (the only way to make a correct checker
fail on purpose) and drive the real gate built from heed's settings.
"""

from __future__ import annotations

import asyncio

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler import settings as heed_settings
from crawler.exceptions import PolicyRefusal
from crawler.middlewares import gate as gate_module
from crawler.middlewares.gate import PolicyGateMiddleware
from crawler.policy.registry import Registry
from crawler.signals import policy_decided


def make_gate():
    settings = {k: getattr(heed_settings, k) for k in dir(heed_settings) if k.isupper()}
    crawler = get_crawler(settings_dict=settings)
    decisions = []
    crawler.signals.connect(lambda decision: decisions.append(decision), signal=policy_decided, weak=False)
    return build_from_crawler(PolicyGateMiddleware, crawler), decisions


def boom(*args, **kwargs):
    raise RuntimeError("injected fault")


def test_a_failing_use_check_holds_the_response(monkeypatch):
    gate, decisions = make_gate()
    monkeypatch.setattr(gate_module, "use_decision", boom)
    request = Request("http://open.test/song")
    response = HtmlResponse(request.url, body=b"<html><head></head></html>", request=request)
    with pytest.raises(PolicyRefusal) as refused:
        asyncio.run(gate.process_response(request, response))
    assert refused.value.decision.verdict == "hold"
    assert refused.value.decision.reasons == ("policy-error:RuntimeError",)
    assert [d.verdict for d in decisions] == ["hold"]


def test_a_failing_fetch_check_holds_the_request(monkeypatch):
    gate, decisions = make_gate()
    monkeypatch.setattr(Registry, "url_finding", boom)
    with pytest.raises(PolicyRefusal) as refused:
        asyncio.run(gate.process_request(Request("http://open.test/song")))
    assert refused.value.decision.verdict == "hold"
    assert refused.value.decision.stage == "fetch"
    assert [d.reasons for d in decisions] == [("policy-error:RuntimeError",)]


def test_without_a_fault_the_same_response_is_allowed():
    # negative control: the refusal above comes from the fault, not from the response
    gate, decisions = make_gate()
    request = Request("http://open.test/song")
    response = HtmlResponse(request.url, body=b"<html><head></head></html>", request=request)
    assert asyncio.run(gate.process_response(request, response)) is response
    assert [d.verdict for d in decisions] == ["allow"]


def test_an_allow_whose_log_receiver_raised_is_not_released() -> None:
    """send_catch_log turns a receiver's exception into a Failure; the gate must not read
    that as "recorded" and send the request."""
    from twisted.python.failure import Failure

    from crawler.middlewares.gate import _durable

    async def recorded() -> None:
        return None

    asyncio.run(_durable([(object(), recorded()), (object(), None)]))  # control: released
    try:
        raise RuntimeError("journal write failed")
    except RuntimeError:
        failure = Failure()
    with pytest.raises(RuntimeError, match="journal write failed"):
        asyncio.run(_durable([(object(), failure)]))
