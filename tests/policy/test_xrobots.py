"""noai-style directives in X-Robots-Tag and robots meta elements."""

from __future__ import annotations

import pytest

from crawler.policy.xrobots import meta_robots_finding, parse_directives, x_robots_finding

TOKEN = "musicdatabot"


# --- optout-standards §7.4 vectors 1-4 and 8, plus the datadiligence failure vectors -----


@pytest.mark.parametrize(
    ("name", "values", "token", "strict", "content_type", "verdict", "reasons"),
    [
        ("7.4-1 noai", ["noai"], TOKEN, False, "text/html", "deny", ("noai:noai",)),
        ("7.4-2 NoImageAI on cover art", ["NoImageAI"], TOKEN, False, "image/jpeg", "deny",
         ("noai:noimageai",)),
        ("7.4-3 another agent's noai", ["googlebot: noai"], TOKEN, True, "text/html", "allow", ()),
        ("7.4-4 our agent, comma list", ["musicdatabot: noindex, noai"], TOKEN, False,
         "text/html", "deny", ("noai:noai",)),
        ("7.4-8 unavailable_after is not an agent", ["unavailable_after: 25 Jun 2026 15:00:00 PST"],
         TOKEN, True, "text/html", "allow", ()),
        ("dd: upper-case directive NOAI", ["NOAI"], TOKEN, False, "", "deny", ("noai:noai",)),
        ("dd: repeated header lines", ["noindex", "noai"], TOKEN, False, "", "deny",
         ("noai:noai",)),
        ("dd: repeated header lines, reserving first", ["noai", "noindex"], TOKEN, False, "",
         "deny", ("noai:noai",)),
        ("dd: MyBot: casing vs token mybot", ["MyBot: noai"], "mybot", False, "", "deny",
         ("noai:noai",)),
        ("dd: UA-scoped comma list for another bot", ["otherbot: noindex, noai"], TOKEN, True, "",
         "allow", ()),
        ("dd: UA-scoped list, other bot, several lines", ["otherbot: noai", "otherbot: noml"],
         TOKEN, True, "", "allow", ()),
        ("agent is matched exactly, not by prefix", ["musicdatabotx: noai"], TOKEN, True, "",
         "allow", ()),
        ("agent is matched exactly, not by prefix (2)", ["music: noai"], TOKEN, True, "", "allow", ()),
        ("scope switches within a line", ["otherbot: noindex, musicdatabot: noai"], TOKEN, False,
         "", "deny", ("noai:noai",)),
        ("global before a scoped item", ["noai, googlebot: noindex"], TOKEN, False, "", "deny",
         ("noai:noai",)),
        ("noml always reserves", ["noml"], TOKEN, False, "", "deny", ("noai:noml",)),
        ("noimageai on HTML, lenient: flag only", ["noimageai"], TOKEN, False, "text/html", "allow",
         ()),
        ("noimageai on HTML, strict", ["noimageai"], TOKEN, True, "text/html", "deny",
         ("noai:noimageai",)),
        ("noarchive, lenient: flag only", ["noarchive"], TOKEN, False, "", "allow", ()),
        ("noarchive, strict", ["noarchive"], TOKEN, True, "", "deny", ("noai:noarchive",)),
        ("nocache, strict", ["NoCache"], TOKEN, True, "", "deny", ("noai:nocache",)),
        ("noindex alone is not an AI signal", ["noindex, nofollow"], TOKEN, True, "", "allow", ()),
        ("max-snippet value is not an agent", ["max-snippet: 20, noai"], TOKEN, False, "", "deny",
         ("noai:noai",)),
        ("date with a comma", ["unavailable_after: Wednesday, 25-Jun-2026 15:00:00 GMT"], TOKEN,
         True, "", "allow", ()),
        ("date then noai", ["unavailable_after: 25 Jun 2026 15:00:00 PST, noai"], TOKEN, False, "",
         "deny", ("noai:noai",)),
        ("our agent with unavailable_after then noai",
         ["musicdatabot: unavailable_after: 25 Jun 2026 15:00:00 PST, noai"], TOKEN, False, "",
         "deny", ("noai:noai",)),
        ("spaces around everything", ["  MusicDataBot :  NoAI ,  NoML  "], TOKEN, False, "",
         "deny", ("noai:noai", "noai:noml")),
        ("no header", [], TOKEN, True, "", "allow", ()),
        ("empty header", [""], TOKEN, True, "", "allow", ()),
    ],
)
def test_x_robots_vectors(name, values, token, strict, content_type, verdict, reasons):
    finding = x_robots_finding(values, token, strict=strict, content_type=content_type)
    assert finding.verdict == verdict, name
    assert finding.reasons == reasons, name


def test_other_agent_recorded_as_evidence():
    finding = x_robots_finding(["googlebot: noai"], TOKEN, strict=True)
    assert finding.signals == (("x-robots-tag", "googlebot: noai"),)


def test_every_line_recorded_and_rule_names_the_line():
    finding = x_robots_finding(["noindex", "MusicDataBot: noai"], TOKEN, strict=False)
    assert finding.signals == (
        ("x-robots-tag", "noindex"),
        ("x-robots-tag", "MusicDataBot: noai"),
    )
    assert finding.rules == ("x-robots-tag[1] musicdatabot: noai",)


def test_flag_only_is_recorded():
    finding = x_robots_finding(["noarchive"], TOKEN, strict=False)
    assert ("noai-flag", "noarchive") in finding.signals


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("noai", [(None, "noai")]),
        ("googlebot: noai", [("googlebot", "noai")]),
        ("otherbot: noindex, noai", [("otherbot", "noindex"), ("otherbot", "noai")]),
        ("unavailable_after: 25 Jun 2026 15:00:00 PST", [(None, "unavailable_after")]),
        ("max-image-preview: large, NOAI", [(None, "max-image-preview"), (None, "noai")]),
        ("a: b, c: d", [("a", "b"), ("c", "d")]),
        (" , ,", []),
    ],
)
def test_parse_directives(value, expected):
    assert parse_directives(value) == expected


# --- meta robots (§7.4 vector 5) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "meta", "strict", "content_type", "verdict", "reasons"),
    [
        ("7.4-5 noarchive, strict", [("robots", "noarchive")], True, "text/html", "deny",
         ("noai:noarchive",)),
        ("7.4-5 noarchive, default: flag only", [("robots", "noarchive")], False, "text/html",
         "allow", ()),
        ("robots noai", [("robots", "noindex, NoAI")], False, "text/html", "deny", ("noai:noai",)),
        ("our token's meta", [("musicdatabot", "noai")], False, "text/html", "deny",
         ("noai:noai",)),
        ("our token's meta, mixed-case name", [("MusicDataBot", "noai")], False, "text/html", "deny",
         ("noai:noai",)),
        ("another agent's meta", [("googlebot", "noai")], True, "text/html", "allow", ()),
        ("union of several elements", [("robots", "noindex"), ("musicdatabot", "noml"),
                                       ("robots", "noai")], False, "text/html", "deny",
         ("noai:noml", "noai:noai")),
        ("unrelated meta", [("description", "noai"), ("tdm-reservation", "1")], True, "text/html",
         "allow", ()),
        ("noimageai on a page, lenient", [("robots", "noimageai")], False, "text/html", "allow", ()),
        ("noimageai on a page, strict", [("robots", "noimageai")], True, "text/html", "deny",
         ("noai:noimageai",)),
        ("no meta", [], True, "text/html", "allow", ()),
    ],
)
def test_meta_vectors(name, meta, strict, content_type, verdict, reasons):
    finding = meta_robots_finding(meta, TOKEN, strict=strict, content_type=content_type)
    assert finding.verdict == verdict, name
    assert finding.reasons == reasons, name


def test_meta_records_raw_content_and_rule():
    meta = [("robots", "NoAI"), ("googlebot", "noai"), ("description", "a song")]
    finding = meta_robots_finding(meta, TOKEN, strict=True)
    assert finding.signals == (("meta:robots", "NoAI"), ("meta:googlebot", "noai"))
    assert finding.rules == ("meta robots: noai",)
