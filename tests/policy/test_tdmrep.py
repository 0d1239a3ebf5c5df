"""TDMRep: the well-known file, carrier precedence, strict mode, and location patterns."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.policy.decision import Evidence
from crawler.policy.patterns import compile_pattern, normalize_path
from crawler.policy.tdmrep import TdmrepFile, TdmRule, file_finding, response_finding

EV_FILE = Evidence(kind="tdmrep.json", url="https://h.test/.well-known/tdmrep.json", sha256="f" * 64)
EV_HEADERS = Evidence(kind="headers", url="https://h.test/page", sha256="e" * 64)


def tdm(rules: object) -> TdmrepFile:
    return TdmrepFile.parse(json.dumps(rules).encode())


VECTOR_2 = [
    {"location": "/music/", "tdm-reservation": 1},
    {"location": "/music/free/*.mp3", "tdm-reservation": 0},
]


# --- optout-standards §3.6 vectors 1-3 and 7: the well-known file, before fetching --------


@pytest.mark.parametrize(
    ("name", "body", "url", "strict", "verdict", "reasons"),
    [
        ("3.6-1 reserve all", json.dumps([{"location": "/", "tdm-reservation": 1}]).encode(),
         "https://h.test/anything/at/all?x=1", True, "deny", ("tdmrep.file",)),
        ("3.6-1 reserve all, root", json.dumps([{"location": "/", "tdm-reservation": 1}]).encode(),
         "https://h.test", True, "deny", ("tdmrep.file",)),
        ("3.6-2 first match wins, not longest", json.dumps(VECTOR_2).encode(),
         "https://h.test/music/free/a.mp3", True, "deny", ("tdmrep.file",)),
        ("3.6-3 reversed: narrow rule first", json.dumps(VECTOR_2[::-1]).encode(),
         "https://h.test/music/free/a.mp3", True, "allow", ()),
        ("3.6-3 reversed: other path", json.dumps(VECTOR_2[::-1]).encode(),
         "https://h.test/music/x", True, "deny", ("tdmrep.file",)),
        ("no rule matches: unset", json.dumps(VECTOR_2).encode(),
         "https://h.test/lyrics/x", True, "allow", ()),
        ("3.6-7 invalid JSON, strict", b"[{location: '/'}", "https://h.test/a", True, "deny",
         ("tdmrep.invalid:not-json",)),
        ("3.6-7 invalid JSON, lenient", b"[{location: '/'}", "https://h.test/a", False, "allow", ()),
        ("3.6-7 not an array, strict", b'{"location": "/", "tdm-reservation": 1}',
         "https://h.test/a", True, "deny", ("tdmrep.invalid:not-an-array",)),
        ("3.6-7 not an array, lenient", b'{"location": "/", "tdm-reservation": 1}',
         "https://h.test/a", False, "allow", ()),
        ("rule without location, strict", b'[{"tdm-reservation": 1}]', "https://h.test/a", True,
         "deny", ("tdmrep.invalid:rule-0-no-location",)),
        ("not UTF-8, strict", b'[{"location": "/\xff", "tdm-reservation": 1}]', "https://h.test/a",
         True, "deny", ("tdmrep.invalid:not-utf8",)),
    ],
)
def test_file_vectors(name, body, url, strict, verdict, reasons):
    finding = file_finding(TdmrepFile.parse(body), url, strict=strict, evidence=EV_FILE)
    assert finding.verdict == verdict, name
    assert finding.reasons == reasons, name
    assert finding.evidence == (EV_FILE,)


def test_file_absent_is_clear():
    finding = file_finding(None, "https://h.test/a", strict=True, evidence=None)
    assert finding.verdict == "allow"
    assert finding.reasons == () and finding.rules == () and finding.signals == ()


def test_file_match_records_rule_signal_and_policy():
    file = tdm([{"location": "/music/", "tdm-reservation": 1, "tdm-policy": "https://h.test/p.json"}])
    finding = file_finding(file, "https://h.test/music/a.mp3", strict=True, evidence=EV_FILE)
    assert finding.verdict == "deny"
    assert finding.rules == (
        "tdmrep.json[0] location=/music/ tdm-reservation=1 tdm-policy=https://h.test/p.json",
    )
    assert ("tdm-reservation", "1") in finding.signals
    assert ("tdm-policy", "https://h.test/p.json") in finding.signals


def test_file_zero_is_allow_with_signal():
    finding = file_finding(tdm([{"location": "/", "tdm-reservation": 0}]), "/a", strict=True, evidence=None)
    assert finding.verdict == "allow"
    assert finding.reasons == ()
    assert finding.signals == (("tdm-reservation", "0"),)


def test_file_invalid_reservation_value_is_unset():
    file = tdm([{"location": "/", "tdm-reservation": "yes"}, {"location": "/", "tdm-reservation": 1}])
    finding = file_finding(file, "/a", strict=True, evidence=None)
    # the first matching rule decides, and its value is a protocol error: unset, logged
    assert finding.verdict == "allow"
    assert ("tdm-reservation-invalid", '"yes"') in finding.signals


def test_file_invalid_lenient_records_signal():
    finding = file_finding(TdmrepFile.parse(b"nope"), "/a", strict=False, evidence=None)
    assert finding.verdict == "allow"
    assert ("tdmrep-invalid", "not-json") in finding.signals


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "invalid", "reservations"),
    [
        (b"[]", None, ()),
        (b'\xef\xbb\xbf[{"location": "/", "tdm-reservation": 1}]', None, (1,)),
        (b'[{"location": "/", "tdm-reservation": 0}]', None, (0,)),
        (b'[{"location": "/", "tdm-reservation": "1"}]', None, (1,)),
        (b'[{"location": "/", "tdm-reservation": " 0 "}]', None, (0,)),
        (b'[{"location": "/", "tdm-reservation": 1.0}]', None, (1,)),
        (b'[{"location": "/", "tdm-reservation": 2}]', None, (None,)),
        (b'[{"location": "/", "tdm-reservation": 0.5}]', None, (None,)),
        (b'[{"location": "/", "tdm-reservation": NaN}]', None, (None,)),
        (b'[{"location": "/", "tdm-reservation": true}]', None, (None,)),
        (b'[{"location": "/", "tdm-reservation": null}]', None, (None,)),
        (b'[{"location": "/"}]', None, (None,)),
        (b'[{"location": "/", "tdm-reservation": 1}, 3]', "rule-1-not-an-object", ()),
        (b'[{"location": 5, "tdm-reservation": 1}]', "rule-0-location-not-a-string", ()),
        (b'[{"tdm-reservation": 1}]', "rule-0-no-location", ()),
        (b'{"location": "/"}', "not-an-array", ()),
        (b'"[]"', "not-an-array", ()),
        (b"", "not-json", ()),
        (b"<html>404</html>", "not-json", ()),
        (b"[" * 100_000, "not-json", ()),
        (b"\xff\xfe[]", "not-utf8", ()),
    ],
)
def test_parse(body, invalid, reservations):
    file = TdmrepFile.parse(body)
    assert file.invalid == invalid
    assert tuple(r.reservation for r in file.rules) == reservations


def test_parse_keeps_policy_and_index():
    file = tdm([{"location": "/a", "tdm-reservation": 1, "tdm-policy": " https://h.test/p "},
                {"location": "/b", "tdm-reservation": 0, "tdm-policy": 7}])
    assert file.rules == (
        TdmRule(index=0, location="/a", reservation=1, policy="https://h.test/p", raw="1"),
        TdmRule(index=1, location="/b", reservation=0, policy=None, raw="0"),
    )


@pytest.mark.parametrize(
    ("location", "url", "matches"),
    [
        ("/", "https://h.test/", True),
        ("/", "https://h.test", True),
        ("/music/", "https://h.test/music/a", True),
        ("/music/", "https://h.test/Music/a", False),  # case-sensitive
        ("/music/", "https://h.test/musicx", False),
        ("/music", "https://h.test/musicx", True),  # a prefix, like robots.txt
        ("/*.mp3", "https://h.test/a/b.mp3?dl=1", True),
        ("/*.mp3$", "https://h.test/a/b.mp3?dl=1", False),
        ("/*.mp3$", "https://h.test/a/b.mp3", True),
        ("/*.mp3$", "https://h.test/a/b.mp3#t=3", True),  # fragment dropped
        ("/a/*/c", "https://h.test/a/b/c", True),
        ("/a/*/c", "https://h.test/a/c", False),
        ("/foo/bar/%62%61%7A", "https://h.test/foo/bar/baz", True),  # RFC 9309 example
        ("/foo/bar/baz", "https://h.test/foo/bar/%62%61%7A", True),
        ("/caf%c3%a9", "https://h.test/caf%C3%A9", True),  # hex case
        ("/café", "https://h.test/caf%C3%A9", True),  # raw UTF-8 in the pattern
        ("/caf%C3%A9", "/café", True),  # raw UTF-8 in the path
        ("/a%2Fb", "https://h.test/a/b", False),  # encoded reserved char stays encoded
        ("/a%2Ab", "https://h.test/a*b", True),  # literal * must be written %2A
        ("/p;v=1", "https://h.test/p;v=1?x", True),  # params are part of the path
        ("/search?q=", "https://h.test/search?q=x", True),
        ("music/", "https://h.test/music/a", True),  # missing leading slash
        ("https://h.test/music/*", "https://h.test/music/a", True),  # full URL written
        ("*", "https://h.test/x", True),
    ],
)
def test_location_matching(location, url, matches):
    file = tdm([{"location": location, "tdm-reservation": 1}])
    assert (file.match(url) is not None) is matches


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/a*b*c$", "/aXbYc", True),
        ("/a*b*c$", "/aXbYcZ", False),
        ("/a*bc$", "/abc", True),
        ("/a*a$", "/a", False),  # the anchored tail may not overlap the head
        ("/a$", "/a", True),
        ("/a$", "/ab", False),
        ("/x$y", "/x$y", True),  # a $ inside is literal
        ("", "/anything", True),
        ("/" + "*a" * 40 + "b", "/" + "a" * 5000, False),  # no catastrophic backtracking
    ],
)
def test_compile_pattern(pattern, path, matches):
    assert compile_pattern(pattern)(path) is matches


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ("https://h.test", "/"),
        ("https://h.test/a;p?q=1#frag", "/a;p?q=1"),
        ("/a?b#c", "/a?b"),
        ("https://h.test/%7euser/%2f", "/~user/%2F"),
        ("https://h.test/a b", "/a%20b"),
        ("https://h.test/ü", "/%C3%BC"),
        ("https://h.test/a*b$", "/a%2Ab%24"),
    ],
)
def test_normalize_path(given_, expected):
    assert normalize_path(given_) == expected
    assert normalize_path(expected) == expected  # idempotent


# --- optout-standards §3.6 vectors 4-6: response carriers --------------------------------


def rule(reservation: int | None, policy: str | None = None) -> TdmRule:
    return TdmRule(index=0, location="/", reservation=reservation, policy=policy,
                   raw=str(reservation))


@pytest.mark.parametrize(
    ("name", "file_rule", "headers", "meta", "strict", "verdict", "reasons"),
    [
        ("3.6-1 file only, no headers", rule(1), {}, [], True, "deny", ("tdmrep.file",)),
        ("3.6-1 file only, lenient", rule(1), {}, [], False, "deny", ("tdmrep.file",)),
        ("3.6-4 header with policy, no file", None,
         {"tdm-reservation": ["1"], "tdm-policy": ["https://h/p.json"]}, [], True, "deny",
         ("tdmrep.header",)),
        ("3.6-5 meta 0 over file 1, strict", rule(1), {}, [("tdm-reservation", "0")], True,
         "deny", ("tdmrep.file", "tdmrep.conflict")),
        ("3.6-5 meta 0 over file 1, lenient", rule(1), {}, [("tdm-reservation", "0")], False,
         "allow", ()),
        ("3.6-6 header yes: unset", None, {"tdm-reservation": ["yes"]}, [], True, "allow", ()),
        ("header 0 over file 1, lenient", rule(1), {"tdm-reservation": ["0"]}, [], False,
         "allow", ()),
        ("header 0 over file 1, strict", rule(1), {"tdm-reservation": ["0"]}, [], True,
         "deny", ("tdmrep.file", "tdmrep.conflict")),
        ("header 1 over file 0, lenient", rule(0), {"tdm-reservation": ["1"]}, [], False,
         "deny", ("tdmrep.header",)),
        ("meta 1 over header 0, lenient", None, {"tdm-reservation": [" 0 "]},
         [("tdm-reservation", "1")], False, "deny", ("tdmrep.meta",)),
        ("absence never resets: header 1, no meta", None, {"tdm-reservation": ["1"]}, [],
         False, "deny", ("tdmrep.header",)),
        ("invalid meta does not reset header 1", None, {"tdm-reservation": ["1"]},
         [("tdm-reservation", "true")], False, "deny", ("tdmrep.header",)),
        ("invalid file value does not count", rule(None), {}, [], True, "allow", ()),
        ("all carriers agree on 0", rule(0), {"tdm-reservation": ["0"]},
         [("tdm-reservation", "0")], True, "allow", ()),
        ("all carriers say 1", rule(1), {"tdm-reservation": ["1"]}, [("tdm-reservation", "1")],
         True, "deny", ("tdmrep.file", "tdmrep.header", "tdmrep.meta")),
        ("repeated header lines disagree, strict", None, {"tdm-reservation": ["0", "1"]}, [],
         True, "deny", ("tdmrep.header", "tdmrep.conflict")),
        ("repeated header lines, last decides, lenient", None,
         {"tdm-reservation": ["1", "0"]}, [], False, "allow", ()),
        ("header joined by a proxy", None, {"tdm-reservation": ["0, 1"]}, [], True, "deny",
         ("tdmrep.header", "tdmrep.conflict")),
        ("no carrier at all", None, {}, [("robots", "noai")], True, "allow", ()),
    ],
)
def test_response_vectors(name, file_rule, headers, meta, strict, verdict, reasons):
    finding = response_finding(file_rule, headers, meta, strict=strict, evidence=EV_HEADERS)
    assert finding.verdict == verdict, name
    assert finding.reasons == reasons, name
    assert finding.evidence == (EV_HEADERS,)


def test_vector_4_records_policy():
    finding = response_finding(
        None, {"tdm-reservation": ["1"], "tdm-policy": ["https://h/p.json"]}, [],
        strict=True, evidence=None,
    )
    assert ("tdm-reservation", "1") in finding.signals
    assert ("tdm-policy", "https://h/p.json") in finding.signals
    assert finding.rules == ("header tdm-reservation: 1",)


def test_vector_5_logs_conflict():
    finding = response_finding(rule(1), {}, [("tdm-reservation", "0")], strict=True, evidence=None)
    assert ("tdmrep-conflict", "file=1,meta=0") in finding.signals
    assert finding.rules == ("tdmrep.json[0] location=/ tdm-reservation=1", "meta tdm-reservation=0")


def test_vector_6_logs_raw_value():
    finding = response_finding(None, {"tdm-reservation": ["yes"]}, [], strict=True, evidence=None)
    assert ("tdm-reservation", "yes") in finding.signals
    assert ("tdm-reservation-invalid", "yes") in finding.signals


def test_policy_ignored_when_not_reserved():
    finding = response_finding(
        None, {"tdm-reservation": ["0"], "tdm-policy": ["https://h/p.json"]},
        [("tdm-policy", "https://h/m.json")], strict=True, evidence=None,
    )
    assert finding.verdict == "allow"
    assert not any(name.endswith("tdm-policy") for name, _ in finding.signals)


def test_meta_policy_recorded_for_meta_reservation():
    finding = response_finding(
        None, {}, [("tdm-reservation", "1"), ("tdm-policy", "https://h/m.json")],
        strict=True, evidence=None,
    )
    assert finding.reasons == ("tdmrep.meta",)
    assert ("meta:tdm-policy", "https://h/m.json") in finding.signals


def test_file_rule_from_match_feeds_response():
    file = tdm(VECTOR_2)
    matched = file.match("https://h.test/music/free/a.mp3")
    assert matched is not None and matched.index == 0
    finding = response_finding(matched, {}, [], strict=True, evidence=None)
    assert finding.reasons == ("tdmrep.file",)


# --- robustness ----------------------------------------------------------------------------


@settings(max_examples=300, database=None, deadline=None)
@given(st.binary(max_size=512))
def test_parse_never_raises_on_bytes(body):
    file = TdmrepFile.parse(body)
    assert (file.invalid is None) or file.rules == ()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["location", "tdm-reservation", "tdm-policy", "x"]), inner, max_size=4
    ),
    max_leaves=12,
)


@settings(max_examples=300, database=None, deadline=None)
@given(_json, st.text(max_size=40))
def test_parse_and_match_never_raise_on_json(value, path):
    file = TdmrepFile.parse(json.dumps(value).encode())
    file.match("/" + path)
    file_finding(file, "/" + path, strict=True, evidence=None)
