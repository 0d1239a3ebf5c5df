"""Microdata, RDFa, rel=license, Open Graph / Twitter and feeds, each on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parsel import Selector

from crawler.extract.draft import PageContext
from crawler.extract.feeds import feed_items, kind_of, parse_xml, sitemap_urls
from crawler.extract.microdata import microdata_items
from crawler.extract.opengraph import meta_tags, opengraph_draft, twitter_draft
from crawler.extract.page import extract_page
from crawler.extract.rdfa import licence_links, rdfa_nodes

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"


# ----------------------------------------------------------------------------- microdata


def test_microdata_values_follow_the_html_rules() -> None:
    sel = Selector(text="""<div itemscope itemtype="http://schema.org/MusicRecording http://schema.org/CreativeWork"
        itemid="/t/1" itemref="extra">
      <a itemprop="url sameAs" href="../t/1?x">link</a><img itemprop="image" src="/i.png">
      <time itemprop="datePublished" datetime="2021-05-14">May</time><data itemprop="position" value="3">third</data>
      <span itemprop="genre">Folk</span><span itemprop="genre">Ambient</span>
      <object itemprop="audio" data="a.mp3"></object></div>
      <p id="extra"><meta itemprop="duration" content="PT2M"></p>""")
    (item,) = microdata_items(sel, "https://music.test/dir/page")
    node = item.value
    assert node["@type"] == ["http://schema.org/MusicRecording", "http://schema.org/CreativeWork"]
    assert node["@id"] == "https://music.test/t/1"
    assert node["url"] == node["sameAs"] == "https://music.test/t/1?x"
    assert (node["image"], node["audio"]) == ("https://music.test/i.png", "https://music.test/dir/a.mp3")
    assert (node["datePublished"], node["position"], node["duration"]) == ("2021-05-14", "3", "PT2M")
    assert node["genre"] == ["Folk", "Ambient"]
    assert item.root == "microdata(/html/body/div)"


def test_microdata_nested_items_are_not_top_level() -> None:
    sel = Selector(text='<div itemscope itemtype="t:A"><div itemprop="p" itemscope itemtype="t:B">'
                        '<span itemprop="name">x</span></div></div>')
    (item,) = microdata_items(sel, "https://x.test/")
    assert item.value == {"@type": "t:A", "p": {"@type": "t:B", "name": "x"}}


# ----------------------------------------------------------------------------- RDFa, rel=license


def test_rdfa_nodes_and_nested_types() -> None:
    (node,) = rdfa_nodes(Selector(text=(PAGES / "rdfa_chooser.html").read_text()), "https://label.example/t/7")
    assert node.value["@type"] == "MusicRecording" and node.value["@id"] == "https://label.example/t/7"
    assert node.value["byArtist"] == {"@type": "MusicGroup", "name": "Fixture Trio"}


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ('<a rel="license noopener noreferrer" href="/l">x</a>', ["https://x.test/l"]),
        ('<link rel="LICENSE" href="https://creativecommons.org/licenses/by/4.0/">', ["https://creativecommons.org/licenses/by/4.0/"]),
        ('<a rel="licensed" href="/no">x</a><a rel="nofollow" href="/no2">y</a>', []),
        ('<area rel="license" href="/map">', ["https://x.test/map"]),
        ('<a rel="license" href="  ">x</a>', []),
    ],
)
def test_rel_license_is_a_token_test(html: str, found: list[str]) -> None:
    assert [link.url for link in licence_links(Selector(text=html), "https://x.test/")] == found


# ----------------------------------------------------------------------------- Open Graph, Twitter


def test_og_reads_name_and_property_in_order_and_keeps_repeats() -> None:
    tags = meta_tags(Selector(text=(PAGES / "jamendo_like.html").read_text()))
    assert [t.key for t in tags if t.key == "music:musician"] == ["music:musician", "music:musician"]
    draft = opengraph_draft(tags, "https://label.example/t")
    assert draft.values["track_number"] == 3 and draft.values["disc_number"] == 1


def test_structured_og_properties_attach_to_the_first_album_only() -> None:
    sel = Selector(text='<meta property="music:album" content="/a1"><meta property="music:album:track" content="3">'
                        '<meta property="music:album" content="/a2"><meta property="music:album:track" content="9">')
    draft = opengraph_draft(meta_tags(sel), "https://x.test/")
    assert (draft.values["album_url"], draft.values["track_number"]) == ("https://x.test/a1", 3)


def test_twitter_written_as_property_and_stream_beats_player() -> None:
    tags = meta_tags(Selector(text=(PAGES / "jamendo_like.html").read_text()))
    draft = twitter_draft(tags, "https://label.example/t")
    assert draft.values["audio_url_kind"] == "stream" and draft.values["mime_type"] == "audio/mpeg"
    sc = twitter_draft(meta_tags(Selector(text=(PAGES / "soundcloud_like.html").read_text())), "https://x.test/")
    assert sc.values["audio_url_kind"] == "embed_page"
    assert sc.values["other_ids"] == [{"scheme": "soundcloud:track", "value": "42"}]


# ----------------------------------------------------------------------------- feeds


def _feed(name: str):
    root = parse_xml((PAGES / name).read_bytes())
    return root, feed_items(root, "https://label.example/sessions/feed.xml")


def test_podcast_feed_without_the_feed_library_losses() -> None:
    root, items = _feed("podcast_feed.xml")
    assert kind_of(root) == "rss" and len(items) == 2  # the text-only third item is a post, not a recording
    first, second = items
    v = first.draft.values
    assert first.native_id == "fixture-ep-1" and v["title"] == "Night Drive (live)"
    assert v["artists"] == ["A. Singer", "B. Player"]  # both persons, with their names
    assert v["lyrics_urls"] == ["https://label.example/night-drive.vtt", "https://label.example/night-drive.srt"]
    assert (v["duration_s"], v["file_size_bytes"], v["mime_type"]) == (215.0, 5160000, "audio/mpeg")
    assert v["explicit"] is False and v["composers"] == ["A. Writer"] and v["language"] == "en-GB"
    assert v["release_date"] == "2024-09-14" and v["album_title"] == "Fixture Label Sessions"
    assert [(c.spdx, c.source) for c in first.draft.licences] == [("CC-BY-SA-4.0", "podcast-ns")]  # item beats channel
    w = second.draft.values
    assert [(c.spdx, c.source) for c in second.draft.licences] == [("CC-BY-4.0", "podcast-ns")]  # channel applies
    assert (w["audio_url"], w["duration_s"], w["artist_credit"]) == (
        "https://cdn.example/audio/paper-lanterns.ogg", 242.0, "Mara Quill")
    assert w["copyright_notice"] == "© 2024 Fixture Label"  # media:copyright text is kept


def test_feed_items_without_audio_are_skipped() -> None:
    _, items = _feed("podcast_feed.xml")
    assert "fixture-note-3" not in [i.native_id for i in items]


def test_atom_entries() -> None:
    root, (entry,) = _feed("atom_feed.xml")
    assert kind_of(root) == "atom"
    v = entry.draft.values
    assert (v["title"], v["artist_credit"], v["mime_type"], v["release_date"]) == (
        "Salt Road", "Fixture Collective", "audio/flac", "2024-02-29")
    assert [c.spdx for c in entry.draft.licences] == ["CC0-1.0"]


def test_sitemaps_and_non_feeds() -> None:
    root = parse_xml(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc> https://a.test/1 </loc>'
                     b'</url></urlset>')
    assert kind_of(root) == "sitemap" and sitemap_urls(root) == ["https://a.test/1"]
    assert parse_xml(b"<rss><channel>") is None and kind_of(None) is None
    root = parse_xml(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><rss><channel><title>&e;</title></channel></rss>')
    assert root is None or "root:" not in "".join(root.itertext())  # external entities are never expanded


# ----------------------------------------------------------------------------- never raises


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([
    "<div itemscope itemtype='http://schema.org/MusicRecording'>", "<span itemprop='name'>", "x", "</div>",
    "<meta property='og:type' content='song'>", "<meta property='og:title' content='T, by A'>",
    "<meta name='music:duration' content='12'>", "<a rel='license' href='//creativecommons.org/licenses/by/4.0'>",
    "<div typeof='MusicRecording'>", "<span property='name'>", "<audio src='/a.mp3'>", "<br>",
    "<div data-lyrics-container='true'>", "[Chorus]", "<script type='application/ld+json'>{", "</script>",
    "<link rel='canonical' href='http://[::1'>", "<meta property='og:audio' content='http://a.test/x.mp3'>",
]), max_size=25))
def test_arbitrary_markup_never_raises(parts: list[str]) -> None:
    result = extract_page("".join(parts), PageContext(page_url="https://x.test/p", fetched_at=datetime(2025, 1, 1, tzinfo=UTC)))
    assert "page-extractor-error" not in result.warnings


def test_audio_elements_give_the_audio_url_of_the_single_recording() -> None:
    html = ('<div itemscope itemtype="http://schema.org/MusicRecording"><span itemprop="name">A</span></div>'
            '<audio controls><source src="javascript:x"><source src="/a.ogg" type="audio/ogg"></audio>')
    (rec,) = extract_page(html, PageContext(page_url="https://x.test/t", fetched_at=datetime(2025, 1, 1, tzinfo=UTC))).recordings
    assert (rec.audio_url, rec.audio_url_kind, rec.mime_type) == ("https://x.test/a.ogg", "full", "audio/ogg")
    assert any(fs["syntax"] == "html" and fs["locator"].endswith("source/@src") for fs in rec.field_sources)
