"""RSL: licence discovery, document parsing, decisions, Link headers and 401/402 challenges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.policy.decision import Evidence
from crawler.policy.fetchresult import FetchResult
from crawler.policy.robots import RobotsTxt
from crawler.policy.rsl import (
    Link,
    auth_finding,
    document_finding,
    fetch_finding,
    license_urls,
    link_header_finding,
    links_finding,
    parse_link_header,
    parse_rsl,
    result_finding,
)

LICENSE_URL = "https://h.test/license.xml"
EV = Evidence(kind="rsl", url=LICENSE_URL, sha256="c" * 64)


def rsl(*contents: str, ns: str = 'xmlns="https://rslstandard.org/rsl"') -> bytes:
    return f"<rsl {ns}>{''.join(contents)}</rsl>".encode()


VECTOR_1 = rsl(
    '<content url="/"><license><permits type="usage">search</permits>'
    '<prohibits type="usage">ai-train</prohibits></license></content>'
)
VECTOR_2 = rsl(
    '<content url="/" server="https://olp.example"><license><permits type="usage">ai-train'
    '</permits><payment type="training"/></license></content>'
)
VECTOR_3 = rsl(
    '<content url="/open/"><license><permits type="usage">all</permits>'
    '<payment type="free"/></license></content>'
)


@pytest.mark.parametrize(
    ("body", "url", "strict", "verdict", "reasons"),
    [
        pytest.param(VECTOR_1, "https://h.test/a", False, "deny", ("rsl:prohibits-ai-train",),
                     id="rsl-v1-prohibits-ai-train"),
        pytest.param(VECTOR_2, "https://h.test/a", False, "deny", ("rsl.license-required",),
                     id="rsl-v2-server-needs-license"),
        pytest.param(VECTOR_3, "https://h.test/open/x", True, "allow", (),
                     id="rsl-v3-open-free-all"),
        pytest.param(VECTOR_3, "https://h.test/paid/x", True, "deny", ("rsl.not-covered",),
                     id="rsl-v3-paid-not-covered-strict"),
        pytest.param(VECTOR_3, "https://h.test/paid/x", False, "allow", (),
                     id="rsl-v3-paid-not-covered-lenient"),
        pytest.param(rsl('<content url="/"><license><prohibits type="usage">ai-all</prohibits>'
                         "</license></content>"), "/x", False, "deny", ("rsl:prohibits-ai-all",),
                     id="prohibits-ai-all"),
        pytest.param(rsl('<content url="/"><license><prohibits type="usage">all</prohibits>'
                         "</license></content>"), "/x", False, "deny", ("rsl:prohibits-all",),
                     id="prohibits-all"),
        pytest.param(rsl('<content url="/"><license><prohibits type="usage">tdm</prohibits>'
                         "</license></content>"), "/x", False, "deny", ("rsl:prohibits-tdm",),
                     id="prohibits-tdm-early-draft"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">search ai-index'
                         '</permits><payment type="free"/></license></content>'), "/x", False,
                     "deny", ("rsl.not-granted",), id="permits-without-training"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">ai-train</permits>'
                         '<payment type="training"><amount currency="USD">10</amount></payment>'
                         "</license></content>"), "/x", False, "deny",
                     ("rsl.license-required",), id="paid-without-server"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">ai-train</permits>'
                         '<payment type="attribution"/></license></content>'), "/x", True,
                     "allow", (), id="attribution-is-free"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">ai-train</permits>'
                         "</license></content>"), "/x", True, "allow", (),
                     id="no-payment-element"),
        pytest.param(rsl('<content url="/"><license><payment type="free"/></license></content>'),
                     "/x", True, "deny", ("rsl.not-granted",), id="no-permits-strict"),
        pytest.param(rsl('<content url="/"><license><payment type="free"/></license></content>'),
                     "/x", False, "allow", (), id="no-permits-lenient"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">ai-train</permits>'
                         '<permits type="user">non-commercial</permits><payment type="free"/>'
                         "</license></content>"), "/x", True, "deny", ("rsl.restricted:user",),
                     id="user-restriction-strict"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">ai-train</permits>'
                         '<permits type="geo">US</permits><payment type="free"/>'
                         "</license></content>"), "/x", False, "allow", (),
                     id="geo-restriction-lenient"),
        pytest.param(rsl('<content url="/"></content>'), "/x", True, "deny", ("rsl.not-granted",),
                     id="content-without-license-strict"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">search</permits>'
                         '</license><license><permits type="usage">ai-train</permits>'
                         '<payment type="free"/></license></content>'), "/x", True, "allow", (),
                     id="second-license-grants"),
        pytest.param(rsl('<content url="/"><license><permits type="usage">all</permits>'
                         '<payment type="free"/></license></content>',
                         '<content url="/music/"><license><prohibits type="usage">ai-train'
                         "</prohibits></license></content>"), "/music/x", True, "deny",
                     ("rsl:prohibits-ai-train",), id="overlapping-contents-most-restrictive"),
        pytest.param(rsl('<content url="https://other.test/"><license><prohibits type="usage">'
                         "ai-train</prohibits></license></content>"), "https://h.test/x", False,
                     "allow", (), id="absolute-url-other-host"),
        pytest.param(rsl('<content url="https://H.test:443/a/*.mp3$"><license>'
                         '<prohibits type="usage">ai-train</prohibits></license></content>'),
                     "https://h.test/a/b/c.mp3", False, "deny", ("rsl:prohibits-ai-train",),
                     id="absolute-url-wildcard-same-origin"),
        pytest.param(rsl('<content url="/"><license><prohibits type="usage">AI-Train, search'
                         "</prohibits></license></content>"), "/x", False, "deny",
                     ("rsl:prohibits-ai-train",), id="token-list-case-and-commas"),
        pytest.param(rsl('<content url="/"><license><prohibits>ai-train</prohibits></license>'
                         "</content>"), "/x", False, "deny", ("rsl:prohibits-ai-train",),
                     id="type-defaults-to-usage"),
        pytest.param(rsl('<content url="/"><license><prohibits type="usage">ai-train</prohibits>'
                         "</license></content>", ns=""), "/x", False, "deny",
                     ("rsl:prohibits-ai-train",), id="no-namespace-tolerated"),
        pytest.param(b"<html><body>Licence</body></html>", "/x", False, "hold",
                     ("rsl.unreachable:not-rsl",), id="html-not-rsl"),
        pytest.param(b"<rsl", "/x", False, "hold", ("rsl.unreachable:not-xml",), id="not-xml"),
        pytest.param(rsl(""), "/x", False, "hold", ("rsl.unreachable:no-content",),
                     id="no-content-elements"),
        pytest.param(b'<!DOCTYPE r [<!ENTITY a "ai-train">]><rsl xmlns="https://rslstandard.org/rsl">'
                     b'<content url="/"><license><prohibits>&a;</prohibits></license></content></rsl>',
                     "/x", False, "hold", ("rsl.unreachable:dtd",), id="dtd-refused"),
        pytest.param(b"x" * 2_000_001, "/x", False, "hold", ("rsl.unreachable:too-large",),
                     id="too-large"),
    ],
)
def test_document_finding(body, url, strict, verdict, reasons):
    found = document_finding(parse_rsl(body, LICENSE_URL), url, strict=strict, evidence=EV)
    assert found.verdict == verdict, found
    assert found.reasons == reasons
    assert found.evidence == (EV,)


def test_rules_and_signals():
    found = document_finding(parse_rsl(VECTOR_2, LICENSE_URL), "/a", strict=True)
    assert found.rules == ("rsl content[0] url=/ server=https://olp.example",)
    assert ("rsl-server", "https://olp.example") in found.signals
    assert ("rsl-payment", "training") in found.signals
    v1 = document_finding(parse_rsl(VECTOR_1, LICENSE_URL), "/a", strict=True)
    assert v1.rules == ("rsl content[0] url=/ license[0] prohibits=ai-train",)


def test_attribution_recorded():
    body = rsl('<content url="/"><license><permits type="usage">all</permits>'
               '<payment type="attribution"/></license></content>')
    found = document_finding(parse_rsl(body), "/x", strict=True)
    assert ("rsl-attribution", "required") in found.signals


def test_parse_fields():
    doc = parse_rsl(VECTOR_2, LICENSE_URL)
    assert doc.invalid is None
    (content,) = doc.contents
    assert content.server == "https://olp.example"
    (lic,) = content.licenses
    assert lic.permits == frozenset({"ai-train"})
    assert lic.payments == ("training",)


# --- fetching the document -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "verdict", "reasons"),
    [
        pytest.param(500, None, "hold", ("rsl.unreachable:500",), id="rsl-v5-license-url-500"),
        pytest.param(404, None, "hold", ("rsl.unreachable:404",), id="license-404-still-hold"),
        pytest.param(403, None, "hold", ("rsl.unreachable:403",), id="license-403-hold"),
        pytest.param(None, "timeout", "hold", ("rsl.unreachable:timeout",), id="timeout"),
    ],
)
def test_fetch_finding_holds(status, error, verdict, reasons):
    result = FetchResult(url=LICENSE_URL, status=status, error=error, kind="rsl")
    found = fetch_finding(result)
    assert found is not None
    assert (found.verdict, found.reasons) == (verdict, reasons)
    assert result_finding(result, "/x", strict=False) == found


def test_fetch_ok_parses():
    result = FetchResult(url=LICENSE_URL, status=200, body=VECTOR_1, kind="rsl")
    assert fetch_finding(result) is None
    found = result_finding(result, "https://h.test/a", strict=True)
    assert found.verdict == "deny"
    assert found.evidence == (Evidence(kind="rsl", url=LICENSE_URL, sha256=result.sha256),)


# --- discovery -----------------------------------------------------------------------------


def test_license_urls_from_robots():
    text = (
        "License: https://h.test/license.xml\n"
        "User-agent: *\nAllow: /\n"
        "License: https://cdn.test/terms.xml\n"
        "License: https://h.test/license.xml\n"
        "License: /relative.xml\n"
        "License: CC BY 4.0\n"
    )
    robots = RobotsTxt.parse(text.encode())
    assert license_urls(robots) == ("https://h.test/license.xml", "https://cdn.test/terms.xml")
    assert license_urls(robots, "https://h.test/robots.txt") == (
        "https://h.test/license.xml",
        "https://cdn.test/terms.xml",
        "https://h.test/relative.xml",
    )


@pytest.mark.parametrize(
    ("values", "urls", "verdict"),
    [
        pytest.param(['<https://h.test/l.xml>; rel="license"; type="application/rsl+xml"'],
                     ("https://h.test/l.xml",), "hold", id="rsl-link"),
        pytest.param(['<https://a.test/x,y>; rel="license"; type="application/rsl+xml", '
                      '<https://cc.test/by>; rel=license'],
                     ("https://a.test/x,y",), "hold", id="comma-inside-url"),
        pytest.param(['</l.xml>; REL="alternate license"; TYPE="Application/RSL+XML"'],
                     ("https://h.test/l.xml",), "hold", id="relative-rel-list-case"),
        pytest.param(['<https://cc.test/by/4.0/>; rel="license"'], (), "allow",
                     id="licence-link-other-type"),
        pytest.param(['<https://h.test/>; rel="canonical"'], (), "allow", id="other-rel"),
        pytest.param(["garbage"], (), "allow", id="garbage"),
        pytest.param([], (), "allow", id="none"),
    ],
)
def test_link_header(values, urls, verdict):
    found_urls, found = link_header_finding(values, "https://h.test/page")
    assert found_urls == urls
    assert found.verdict == verdict
    if urls:
        assert found.reasons == ("rsl.pending",)


def test_parse_link_header_params():
    (link,) = parse_link_header(['<https://h.test/l.xml> ; rel="license" ; type="application/rsl+xml; v=1"'])
    assert link == Link("https://h.test/l.xml", ("license",), "application/rsl+xml")


def test_html_link_elements_use_the_same_rule():
    urls, found = links_finding([Link("/terms.xml", ("license",), "application/rsl+xml")],
                                "https://h.test/a/b")
    assert urls == ("https://h.test/terms.xml",)
    assert found.verdict == "hold"


@pytest.mark.parametrize(
    ("status", "values", "verdict"),
    [
        pytest.param(401, ['License error="invalid_request"'], "deny", id="rsl-v4-401-license"),
        pytest.param(402, ['license realm="x"'], "deny", id="402-license-lowercase"),
        pytest.param(401, ['Basic realm="x", License error="invalid_token"'], "deny",
                     id="second-challenge"),
        pytest.param(401, ['Basic realm="x"'], "allow", id="basic-only"),
        pytest.param(401, ['Licensed realm="x"'], "allow", id="not-the-license-scheme"),
        pytest.param(403, ["License"], "allow", id="403-not-a-challenge"),
        pytest.param(401, [], "allow", id="no-header"),
    ],
)
def test_auth_finding(status, values, verdict):
    found = auth_finding(status, values)
    assert found.verdict == verdict
    if verdict == "deny":
        assert found.reasons == ("rsl.license-required",)


def test_auth_records_error():
    found = auth_finding(401, ['License error="invalid_request", error_description="x"'])
    assert ("rsl-error", "invalid_request") in found.signals


# --- never raises --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=600), url=st.text(max_size=40))
def test_parse_rsl_never_raises(body, url):
    doc = parse_rsl(body, LICENSE_URL)
    found = document_finding(doc, url or "/", strict=True)
    assert found.verdict in ("allow", "deny", "hold")


_XMLISH = st.text(alphabet='<>/="rslcontenturlicespmitsyhbag- :.\'', max_size=200)


@settings(max_examples=300, deadline=None)
@given(_XMLISH)
def test_parse_rsl_xmlish_never_raises(text):
    parse_rsl(('<rsl xmlns="https://rslstandard.org/rsl">' + text).encode())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=3), st.integers(100, 599))
def test_headers_never_raise(values, status):
    link_header_finding(values, "https://h.test/")
    auth_finding(status, values)
