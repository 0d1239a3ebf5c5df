"""Loopback crawls of the item features: a label site (pages of every kind, a podcast feed,
a sitemap, audio files on the same host and on a host that reserves them) and a saved
Internet Archive API. The server's access log is the ground truth of what was requested;
the Parquet files are read back with pyarrow. A negative control shows the reserved audio
*is* requested without the gate."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from conftest import crawl, run_scrapy

from crawler.demo.webserver import SampleWeb

sys.path.insert(0, str(Path(__file__).resolve().parent / "extract"))
from audio_samples import flac_file, mp3_file, opus_file, padded  # noqa: E402

FIXTURE_WEB = Path(__file__).resolve().parent / "fixtures" / "web"
CC_BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"


def build_web(root: Path) -> Path:
    """Copy the fixture web and make its audio files."""
    shutil.copytree(FIXTURE_WEB, root)
    label = root / "label.test" / "audio"
    label.mkdir()
    mp3_file(label / "night-drive.mp3", version=3, frames=40, xing_frames=9332, title="Night Drive (master)",
             artist="The Examples", isrc="GB-AYE-69-00123", publisher="Fixture Label", copyright="2021 Fixture Label",
             licence_url=CC_BY_SA, lyrics="headlights on the wet road\nwe drive until the dawn",
             synced="headlights on the wet road@12000|we drive until the dawn@15500")
    (label / "no-ranges.mp3").write_bytes(padded(mp3_file(label / "tmp.mp3", title="Long Take"), 300_000))
    (label / "tmp.mp3").unlink()
    mp3_file(label / "session-1.mp3", version=4, title="Night Drive (live)", artist="The Examples")
    opus_file(label / "session-2.opus", title="Tide Tables", artist="Mara Quill")
    cdn = root / "cdn-reserved.test" / "audio"
    cdn.mkdir()
    mp3_file(cdn / "held-breath.mp3", title="Held Breath")
    downloads = root / "archive.test" / "download"
    flac = flac_file(downloads / "fixture-netlabel-042" / "01-shoreline.flac" if _mk(downloads / "fixture-netlabel-042")
                     else None, picture_bytes=100_000, title="Shoreline", isrc="NLA1B2200099")
    harbour = mp3_file(downloads / "fixture-netlabel-042" / "02-harbour.mp3", title="Harbour", xing_frames=650)
    _mk(downloads / "fixture-78-001")
    foxtrot = flac_file(downloads / "fixture-78-001" / "foxtrot.flac", title="An Invented Foxtrot")
    for name, sizes in (("fixture-netlabel-042", {"SIZE_FLAC": len(flac), "SIZE_MP3": len(harbour)}),
                        ("fixture-78-001", {"SIZE_78": len(foxtrot)})):
        path = root / "archive.test" / "metadata" / name
        text = path.read_text(encoding="utf-8")
        for key, size in sizes.items():
            text = text.replace(key, str(size))
        path.write_text(text, encoding="utf-8")
    return root


def _mk(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return True


def fill_port(root: Path, port: int) -> None:
    for path in [*root.rglob("*.html"), *root.rglob("*.xml")]:
        text = path.read_text(encoding="utf-8")
        if "{port}" in text:
            path.write_text(text.replace("{port}", str(port)), encoding="utf-8")


def table(run_dir: Path, kind: str):
    path = run_dir / "items" / kind
    return ds.dataset(path, format="parquet").to_table() if path.exists() else None


def decisions(run_dir: Path):
    return ds.dataset(run_dir / "decisions", format="parquet").to_table()


def item_denials(run_dir: Path) -> dict[str, list[str]]:
    t = decisions(run_dir)
    rows = t.filter(pc.and_(pc.equal(t["stage"], "item"), pc.equal(t["verdict"], "deny"))).to_pylist()
    return {r["item_id"]: r["reasons"] for r in rows}


@pytest.fixture(scope="module")
def label_crawl(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("label")
    root = build_web(base / "web")
    with SampleWeb(root) as web:
        fill_port(root, web.port)
        run = crawl(web, base / "runs", [web.url("label.test"), web.url("label.test", "/sitemap.xml")])
        hits = web.hits_snapshot()
    assert run.returncode == 0, run.stderr[-3000:]
    return web, run, hits


def by_title(t) -> dict[str, dict]:
    return {r["title"]: r for r in t.to_pylist()}


def test_recordings_match_the_fixtures(label_crawl) -> None:
    web, run, _ = label_crawl
    recs = by_title(table(run.run_dir, "recording"))
    assert set(recs) == {"Night Drive", "Long Take", "Paper Moons", "Hidden Track", "Night Drive (live)", "Tide Tables (session)"}
    nd = recs["Night Drive"]
    assert (nd["isrc"], nd["iswc"], nd["artist_credit"], nd["composers"], nd["lyricists"]) == (
        "GBAYE6900123", "T-000.000.001-0", "The Examples", ["A. Writer"], ["B. Poet"])
    # the file's tags were read and merged: stream info, label from TPUB, header duration
    assert (nd["codec"], nd["sample_rate_hz"], nd["channels"], nd["embedded_tag_format"]) == ("mp3", 44100, 2, "id3v2.3")
    assert nd["record_label"] == "Fixture Label" and nd["audio_fetch"] == "ok"
    assert nd["duration_s"] == pytest.approx(9332 * 1152 / 44100, rel=0.01) and nd["duration_estimated"] is False
    assert nd["has_embedded_lyrics"] and nd["has_synced_lyrics"]
    assert nd["license_spdx"] == "CC-BY-SA-4.0" and nd["license_status"] == "open"
    assert {c["source"] for c in nd["license_candidates"]} == {"json-ld", "id3"}
    assert nd["byte_ranges"] == [{"start": 0, "end": nd["file_size_bytes"] - 1}]
    assert any(fs["syntax"] == "id3" and fs["locator"] == "TPUB" for fs in nd["field_sources"])
    hidden = recs["Hidden Track"]  # reached only through the sitemap
    assert hidden["license_spdx"] == "CC0-1.0" and hidden["license_status"] == "public_domain"
    moons = recs["Paper Moons"]
    assert (moons["license_source"], moons["isrc"]) == ("rel-license", "GBAYE6900777")


def test_feed_items_become_recordings_with_their_audio(label_crawl) -> None:
    _, run, hits = label_crawl
    recs = by_title(table(run.run_dir, "recording"))
    live, tide = recs["Night Drive (live)"], recs["Tide Tables (session)"]  # the feed's title beats the tag
    assert live["source"] == "podcast_feed" and live["source_native_id"] == "fixture-session-1"
    assert live["artists"] == ["A. Singer", "B. Player"] and live["license_spdx"] == "CC-BY-SA-4.0"
    assert live["lyrics_urls"][0].endswith("/transcripts/session-1.vtt") and live["language"] == "en-GB"
    assert tide["license_spdx"] == "CC-BY-4.0" and tide["license_source"] == "podcast-ns"  # channel licence
    # Ogg: head plus a tail range, and the duration from the last page
    assert tide["codec"] == "opus" and tide["duration_s"] == pytest.approx(30.0, abs=0.1)
    assert len(tide["byte_ranges"]) == 2
    ranges = [h.headers.get("range") for h in hits if h.path == "/audio/session-2.opus"]
    assert ranges[0] == "bytes=0-65535" and ranges[1].startswith("bytes=") and len(ranges) == 2


def test_a_server_that_ignores_range_is_cut_off(label_crawl) -> None:
    _, run, hits = label_crawl
    long_take = by_title(table(run.run_dir, "recording"))["Long Take"]
    assert long_take["audio_fetch"] == "range-ignored"
    assert long_take["byte_ranges"] == [{"start": 0, "end": 65535}]
    assert long_take["file_size_bytes"] > 300_000 and long_take["codec"] == "mp3"
    served = [h for h in hits if h.path == "/audio/no-ranges.mp3"]
    assert served and all(h.status == 200 for h in served)


def test_lyrics_items_keep_text_only_with_a_basis(label_crawl) -> None:
    _, run, _ = label_crawl
    lyrics = table(run.run_dir, "lyrics").to_pylist()
    recs = by_title(table(run.run_dir, "recording"))
    by_format = {(r["recording_ref"]["item_id"], r["format"]): r for r in lyrics}
    nd_id = recs["Night Drive"]["item_id"]
    plain = by_format[(nd_id, "plain")]  # the composition's lyrics in JSON-LD
    assert plain["text_stored"] and plain["text_storage_basis"] == "cc_license"
    assert plain["license_inherited_from_recording"] and plain["text"].startswith("headlights on the wet road")
    assert plain["line_count"] == 3 and plain["language_declared"] == "en" and plain["iswc"] == "T-000.000.001-0"
    sylt = by_format[(nd_id, "id3_sylt")]
    assert sylt["sync_level"] == "line" and sylt["first_ts_s"] == pytest.approx(12.0)
    assert (nd_id, "id3_uslt") in by_format
    page = by_format[(recs["Paper Moons"]["item_id"], "html")]
    assert page["text"] is None and not page["text_stored"] and page["text_storage_basis"] == "not_stored"
    assert (page["line_count"], page["section_count"]) == (4, 3) and len(page["text_sha256"]) == 64
    assert page["license_source"] == "rel-license"
    for row in lyrics:
        assert row["text"] is None or row["text_storage_basis"] in ("cc_license", "public_domain")


def test_registry_party_items_are_dropped_and_logged(label_crawl) -> None:
    _, run, _ = label_crawl
    denied = item_denials(run.run_dir)
    party = [item_id for item_id, reasons in denied.items() if reasons == ["registry.party:R4"]]
    assert len(party) == 2  # the Columbia Records recording and its lyrics
    recs, lyrics = table(run.run_dir, "recording"), table(run.run_dir, "lyrics")
    kept = set(recs["item_id"].to_pylist()) | set(lyrics["item_id"].to_pylist())
    assert not kept & set(party)
    # nothing of the reserved items reached the dataset
    for t in (recs, lyrics):
        for row in t.to_pylist():
            assert "Borrowed Crown" not in str(row) and "Columbia" not in str(row)


def test_licence_allowlist_and_reserved_audio_drops(label_crawl) -> None:
    _, run, hits = label_crawl
    reasons = sorted(tuple(r) for r in item_denials(run.run_dir).values())
    assert ("license:all_rights_reserved",) in reasons  # Glass River
    assert ("license:unknown",) in reasons  # Low Tide: no licence anywhere
    assert ("robots.ai-token:GPTBot",) in reasons  # Held Breath: its audio host reserves it
    assert not [h for h in hits if h.host == "cdn-reserved.test" and h.path.startswith("/audio/")]
    t = decisions(run.run_dir)
    audio = t.filter(pc.and_(pc.match_substring(t["url"], "/audio/held-breath.mp3"), pc.equal(t["stage"], "fetch"))).to_pylist()
    assert audio and all(r["verdict"] == "deny" for r in audio)


def test_every_item_row_has_an_item_decision(label_crawl) -> None:
    _, run, _ = label_crawl
    t = decisions(run.run_dir)
    allowed = set(t.filter(pc.and_(pc.equal(t["stage"], "item"), pc.equal(t["verdict"], "allow")))["item_id"].to_pylist())
    kept = set(table(run.run_dir, "recording")["item_id"].to_pylist()) | set(table(run.run_dir, "lyrics")["item_id"].to_pylist())
    assert allowed == kept


def test_negative_control_without_the_gate_the_reserved_audio_is_fetched(tmp_path: Path) -> None:
    root = build_web(tmp_path / "web")
    with SampleWeb(root) as web:
        fill_port(root, web.port)
        run = crawl(web, tmp_path / "runs", [web.url("label.test", "/tracks/reserved-audio.html")], gate=False)
        hits = web.hits_snapshot()
    assert run.returncode == 1, run.stderr[-3000:]  # an ungated run fails its verification
    assert [h for h in hits if h.host == "cdn-reserved.test" and h.path == "/audio/held-breath.mp3"]
    assert "Held Breath" in by_title(table(run.run_dir, "recording"))


def test_archive_api_crawl(tmp_path: Path) -> None:
    root = build_web(tmp_path / "web")
    with SampleWeb(root) as web:
        args = ["crawl", "archive", "-a", "query=collection:netlabels", "-a", f"api={web.url('archive.test')}"]
        for name, value in {"POLICY_RESOLVE": __import__("json").dumps(web.resolve_map()),
                            "PROVENANCE_DIR": str(tmp_path / "runs"), "PROVENANCE_RUN_ID": "ia",
                            "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"}.items():
            args += ["-s", f"{name}={value}"]
        proc = run_scrapy(args)
        hits = web.hits_snapshot()
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "ia"
    recs = by_title(table(run_dir, "recording"))
    assert set(recs) == {"Shoreline", "Harbour"}
    shore = recs["Shoreline"]
    assert shore["source"] == "internet_archive" and shore["license_spdx"] == "LicenseRef-CC-BY-SA-3.0-US"
    assert shore["isrc"] == "NLA1B2200099" and shore["codec"] == "flac" and shore["duration_s"] == pytest.approx(30.0)
    assert len(shore["byte_ranges"]) == 2  # the picture block pushed the comments past the head
    assert {tuple(r) for r in item_denials(run_dir).values()} == {("license:unknown",)}  # the 78 rpm item
    assert sorted(h.path for h in hits if h.path.startswith("/metadata/")) == [
        "/metadata/fixture-78-001", "/metadata/fixture-netlabel-042"]


# ----------------------------------------------------------------------------- the loopback server's Range support


def test_sample_web_answers_range_requests(tmp_path: Path) -> None:
    import http.client

    root = build_web(tmp_path / "web")
    data = (root / "label.test" / "audio" / "session-1.mp3").read_bytes()

    def get(path: str, rng: str | None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(web.address, web.port, timeout=10)
        try:
            headers = {"Host": f"label.test:{web.port}", **({"Range": rng} if rng else {})}
            conn.request("GET", path, headers=headers)
            with conn.getresponse() as resp:
                return resp.status, dict(resp.headers), resp.read()
        finally:
            conn.close()

    with SampleWeb(root) as web:
        status, headers, body = get("/audio/session-1.mp3", "bytes=0-99")
        assert (status, headers["Content-Range"], body) == (206, f"bytes 0-99/{len(data)}", data[:100])
        status, headers, body = get("/audio/session-1.mp3", "bytes=-10")
        assert (status, body) == (206, data[-10:])
        status, headers, body = get("/audio/session-1.mp3", f"bytes={len(data)}-")
        assert (status, headers["Content-Range"], body) == (416, f"bytes */{len(data)}", b"")
        assert get("/audio/session-1.mp3", "bytes=0-1,5-6")[0] == 200  # several ranges: the whole file
        assert get("/audio/session-1.mp3", None)[0] == 200
        status, _, body = get("/audio/no-ranges.mp3", "bytes=0-99")  # Accept-Ranges: none
        assert status == 200 and len(body) > 100
        assert get("/missing.mp3", "bytes=0-9")[0] == 404


def test_a_range_ignoring_server_announcing_too_much_is_stopped_at_the_headers(tmp_path: Path) -> None:
    root = build_web(tmp_path / "web")
    with SampleWeb(root) as web:
        run = crawl(web, tmp_path / "runs", [web.url("label.test", "/tracks/big-file.html")],
                    settings={"ITEMS_AUDIO_MAX_BYTES": 131072, "DEPTH_LIMIT": 0})
    assert run.returncode == 0, run.stderr[-3000:]
    (row,) = table(run.run_dir, "recording").to_pylist()
    assert row["audio_fetch"] == "range-ignored" and row["byte_ranges"] == [] and row["codec"] is None
    assert row["file_size_bytes"] > 300_000 and row["license_spdx"] == "CC0-1.0"
    assert "Cancelling download" not in run.stderr and "larger than download max size" not in run.stderr
