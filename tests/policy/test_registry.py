"""Rights-holder registries: loading, validation, URL scopes and item scopes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from crawler.policy.decision import Evidence
from crawler.policy.registry import Registry, normalize_party

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "registries" / "sample.csv"
HEADER = "id,holder,scope,value,source_url,declared_on\n"

ROWS = (
    "D1,Label One,domain,label.test,https://rights.example/d1,2024-05-16\n"
    "H1,Label Two,host,cdn.music.test,https://rights.example/h1,2024-05-16\n"
    "U1,Publisher Three,url-prefix,https://Lyrics.Open.test/Reserved/,https://rights.example/u1,2024-05-16\n"
    "U2,Publisher Four,url-prefix,http://files.open.test:8080/a%7Eb/,,\n"
    "D2,Label Five,domain,deep.sub.other.test,,\n"
    "P1,Sony Music Entertainment,party,Sony Music Entertainment,https://rights.example/p1,2024-05-16\n"
    "I1,Label One,isrc-prefix,GB-AYE,https://rights.example/i1,2024-05-16\n"
    "W1,Publisher Three,iswc,T-034.524.680-1,https://rights.example/w1,2024-05-16\n"
)


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "reg.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    return path


@pytest.fixture
def registry(registry_file: Path) -> Registry:
    return Registry.load([registry_file])


@pytest.mark.parametrize(
    ("url", "reasons"),
    [
        # domain: the domain itself and every subdomain, any scheme or port
        ("https://label.test/", ("registry.domain:D1",)),
        ("http://www.label.test:8080/x", ("registry.domain:D1",)),
        ("https://a.b.c.LABEL.test./x", ("registry.domain:D1",)),
        ("https://notlabel.test/", ()),
        ("https://label.test.evil.test/", ()),
        ("https://deep.sub.other.test/", ("registry.domain:D2",)),
        ("https://x.deep.sub.other.test/", ("registry.domain:D2",)),
        ("https://sub.other.test/", ()),
        # host: exactly that host
        ("https://cdn.music.test/a.mp3", ("registry.host:H1",)),
        ("https://CDN.music.test:444/a.mp3", ("registry.host:H1",)),
        ("https://www.cdn.music.test/a.mp3", ()),
        ("https://music.test/a.mp3", ()),
        # url-prefix: scheme and host case-insensitive, path case-sensitive
        ("https://lyrics.open.test/Reserved/song-1", ("registry.url:U1",)),
        ("HTTPS://LYRICS.OPEN.TEST/Reserved/", ("registry.url:U1",)),
        ("https://lyrics.open.test:443/Reserved/x", ("registry.url:U1",)),
        ("https://lyrics.open.test/reserved/song-1", ()),
        ("https://lyrics.open.test/Reserved", ()),
        ("http://lyrics.open.test/Reserved/song-1", ("registry.url:U1",)),  # the scheme does not escape it
        ("https://lyrics.open.test:8443/Reserved/x", ()),
        ("http://files.open.test:8080/a~b/c", ("registry.url:U2",)),
        ("http://files.open.test:8080/a%7eb/c", ("registry.url:U2",)),
        ("http://files.open.test/a~b/c", ()),
        # item scopes never match URLs
        ("https://sony.test/Sony%20Music%20Entertainment", ()),
    ],
)
def test_url_scopes(registry, url, reasons):
    finding = registry.url_finding(url)
    assert finding.reasons == reasons
    assert finding.verdict == ("deny" if reasons else "allow")


def test_several_entries_all_reported(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text(
        HEADER
        + "A,Holder A,domain,label.test,,\n"
        + "B,Holder B,host,www.label.test,,\n"
        + "C,Holder C,url-prefix,https://www.label.test/music/,,\n",
        encoding="utf-8",
    )
    finding = Registry.load([path]).url_finding("https://www.label.test/music/a")
    assert finding.reasons == ("registry.domain:A", "registry.host:B", "registry.url:C")


def test_finding_carries_evidence_rule_and_holder(registry, registry_file):
    finding = registry.url_finding("https://www.label.test/")
    digest = hashlib.sha256(registry_file.read_bytes()).hexdigest()
    assert finding.evidence == (Evidence(kind="registry", url=str(registry_file), sha256=digest),)
    assert finding.rules == ("registry reg.csv:2 domain=label.test (id D1)",)
    assert ("registry-holder", "Label One") in finding.signals
    assert ("registry-source", "https://rights.example/d1") in finding.signals


def test_sources_and_entries(registry, registry_file):
    digest = hashlib.sha256(registry_file.read_bytes()).hexdigest()
    assert registry.sources == ((str(registry_file), digest),)
    assert [e.id for e in registry.entries] == ["D1", "H1", "U1", "U2", "D2", "P1", "I1", "W1"]
    assert registry.entries[2].line == 4 and registry.entries[2].file == str(registry_file)
    assert [e.id for e in registry.by_scope("party")] == ["P1"]


def test_empty():
    for registry in (Registry.empty(), Registry.load([])):
        assert registry.entries == () and registry.sources == ()
        assert registry.url_finding("https://label.test/").verdict == "allow"


def test_unparsable_url_is_held(registry):
    assert registry.url_finding("https://[::1/x").verdict == "hold"


def test_sample_registry_loads():
    registry = Registry.load([SAMPLE])
    scopes = {e.scope for e in registry.entries}
    assert {"domain", "host", "url-prefix", "party", "isrc-prefix"} <= scopes
    finding = registry.url_finding("https://www.registry-listed.test/album/1")
    assert finding.verdict == "deny"
    assert ("registry-holder", "Example Rights Collective") in finding.signals
    assert registry.item_entries("party", "Sony Music Entertainment")


def test_several_files(tmp_path, registry_file):
    other = tmp_path / "other.csv"
    other.write_text(HEADER + "X1,Holder X,host,x.test,,\n", encoding="utf-8")
    registry = Registry.load([registry_file, other])
    assert len(registry.sources) == 2
    finding = registry.url_finding("https://x.test/")
    assert finding.evidence[0].url == str(other)
    assert finding.rules == ("registry other.csv:2 host=x.test (id X1)",)


@pytest.mark.parametrize(
    ("scope", "value", "ids"),
    [
        ("party", "SONY MUSIC ENTERTAINMENT", ("P1",)),
        ("party", "Sony Music Entertainment, Inc.", ("P1",)),
        ("party", "Sony Music", ()),
        ("isrc-prefix", "GB-AYE-69-00123", ("I1",)),
        ("isrc-prefix", "gbaye6900123", ("I1",)),
        ("isrc-prefix", "ISRC: GBAYF6900123", ()),
        ("iswc", "T0345246801", ("W1",)),
        ("iswc", "T-034.524.680-2", ()),
    ],
)
def test_item_scopes(registry, scope, value, ids):
    assert tuple(e.id for e in registry.item_entries(scope, value)) == ids
    finding = registry.item_finding(scope, value)
    assert finding.verdict == ("deny" if ids else "allow")


def test_normalize_party():
    assert normalize_party("℗ Sony Music Entertainment GmbH") == "sony music entertainment"
    assert normalize_party("Universal Music S.A.") == "universal music"
    assert normalize_party("Columbia Records") == "columbia records"


# --- bad files: every error names file:line ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("wrong header", "id,holder,scope,value\nA,H,host,a.test\n", 1, "header"),
        ("header with extra column", HEADER.strip() + ",note\n", 1, "header"),
        ("empty file", "", 1, "header"),
        ("unknown scope", HEADER + "A,H,host,a.test,,\nB,H,website,b.test,,\n", 3, "unknown scope"),
        ("empty value", HEADER + "A,H,host,,,\n", 2, "empty value"),
        ("empty id", HEADER + ",H,host,a.test,,\n", 2, "empty id"),
        ("empty holder", HEADER + "A,,host,a.test,,\n", 2, "empty holder"),
        ("duplicate id", HEADER + "A,H,host,a.test,,\nB,H,host,b.test,,\nA,H,host,c.test,,\n", 4,
         "duplicate id 'A'"),
        ("too few columns", HEADER + "A,H,host,a.test\n", 2, "expected 6 columns"),
        ("domain with a path", HEADER + "A,H,domain,a.test/x,,\n", 2, "bare host name"),
        ("domain is a public suffix", HEADER + "A,H,domain,co.uk,,\n", 2, "public suffix"),
        ("domain is one label", HEADER + "A,H,domain,test,,\n", 2, "public suffix"),
        ("url-prefix not absolute", HEADER + "A,H,url-prefix,/music/,,\n", 2, "absolute http(s) URL"),
        ("url-prefix ftp", HEADER + "A,H,url-prefix,ftp://a.test/x,,\n", 2, "absolute http(s) URL"),
        ("bad isrc prefix", HEADER + "A,H,isrc-prefix,G1-AYE,,\n", 2, "isrc-prefix"),
        ("bad iswc", HEADER + "A,H,iswc,12345,,\n", 2, "iswc"),
        ("bad date", HEADER + "A,H,host,a.test,,16/05/2024\n", 2, "declared_on"),
        ("bad source url", HEADER + "A,H,host,a.test,rights.example,\n", 2, "source_url"),
        ("not utf-8", HEADER + "A,H\xe9,host,a.test,,\n", 2, "UTF-8"),
    ],
)
def test_bad_files(tmp_path, name, text, line, message):
    path = tmp_path / "bad.csv"
    data = text.encode("latin-1") if name == "not utf-8" else text.encode("utf-8")
    path.write_bytes(data)
    with pytest.raises(ValueError) as info:
        Registry.load([path])
    assert str(info.value).startswith(f"{path}:{line}: "), (name, str(info.value))
    assert message in str(info.value), name


def test_duplicate_id_across_files(tmp_path):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(HEADER + "A,H,host,a.test,,\n", encoding="utf-8")
    b.write_text(HEADER + "\nA,H,host,b.test,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^{b}:3: duplicate id 'A' \(first at {a}:2\)"):
        Registry.load([a, b])


def test_tolerates_bom_blank_lines_quotes_and_spaces(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(
        ("\ufeff" + HEADER + "\n" + ' A , "Label, Inc.",host , a.test ,,\n\n').encode("utf-8")
    )
    registry = Registry.load([path])
    (entry,) = registry.entries
    assert (entry.id, entry.holder, entry.line) == ("A", "Label, Inc.", 3)
    assert registry.url_finding("https://a.test/").reasons == ("registry.host:A",)


def test_broken_quoting_names_line(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text(HEADER + 'A,"Label" x,host,a.test,,\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^{path}:2: "):
        Registry.load([path])


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        Registry.load([tmp_path / "missing.csv"])
