"""The lyrics item and the helpers around items: schema parity, Arrow conversion, scrubbing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from crawler.items import IDENTIFYING_FIELDS, AudioRefused, Lyrics, Recording, make_item_id, scrub
from pipelines.schema import ITEM_SCHEMAS, LYRICS, RECORDING

AT = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(("cls", "schema"), [(Recording, RECORDING), (Lyrics, LYRICS)])
def test_fields_match_the_schema(cls: type, schema: pa.Schema) -> None:
    fields = dataclasses.fields(cls)
    assert [f.name for f in fields] == schema.names
    for f in fields:
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if schema.field(f.name).nullable:
            assert has_default, f.name
        else:
            assert f.default is not None and "None" not in str(f.type), f.name


def test_both_item_types_are_registered() -> None:
    assert ITEM_SCHEMAS == {"recording": RECORDING, "lyrics": LYRICS}
    assert "AudioRefused" not in ITEM_SCHEMAS


def _lyrics(**overrides: object) -> Lyrics:
    values: dict[str, object] = dict(item_id=make_item_id("generic_web", "https://l.test/1#lyrics"),
                                     source="generic_web", page_url="https://l.test/1", fetched_at=AT,
                                     extractor="page", extractor_version="0")
    values.update(overrides)
    return Lyrics(**values)  # type: ignore[arg-type]


def test_lyrics_convert_to_arrow_including_the_lrc_tag_map() -> None:
    item = _lyrics(recording_ref={"item_id": "r" * 64, "isrc": "GBAYE6900123", "mbid_recording": None},
                   lrc_tags={"ti": "Paper Moons", "offset": "+250"}, line_count=3, first_ts_s=11.75,
                   text_sha256="a" * 64, text_stored=True, text="one", text_storage_basis="cc_license")
    table = pa.Table.from_pylist([dataclasses.asdict(item), dataclasses.asdict(_lyrics())], schema=LYRICS)
    assert table.column("lrc_tags")[0].as_py() == [("ti", "Paper Moons"), ("offset", "+250")]
    assert table.column("recording_ref")[0].as_py()["isrc"] == "GBAYE6900123"
    assert table.column("text")[1].as_py() is None and table.column("text_stored")[1].as_py() is False


def test_recording_struct_columns_convert() -> None:
    rec = Recording(item_id="i" * 64, source="s", page_url="https://r.test/", fetched_at=AT, extractor="e",
                    extractor_version="0", byte_ranges=[{"start": 0, "end": 65535}],
                    license_flags={"by": True, "sa": False, "nc": False, "nd": False},
                    artist_ids=[{"scheme": "url", "id": "https://r.test/a"}],
                    license_candidates=[{"spdx": "CC-BY-4.0", "source": "json-ld", "raw": "x"}],
                    track_number=3, channels=2, upc_ean_length=12)
    table = pa.Table.from_pylist([dataclasses.asdict(rec)], schema=RECORDING)
    assert table.column("byte_ranges")[0].as_py() == [{"start": 0, "end": 65535}]


@pytest.mark.parametrize(
    "kwargs",
    [{"text": "words"}, {"text": "words", "text_stored": True}, {"text_stored": True}],
)
def test_text_needs_a_storage_basis(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _lyrics(**kwargs)


def test_scrub_keeps_only_identifying_fields() -> None:
    rec = Recording(item_id="i" * 64, source="s", page_url="https://r.test/", fetched_at=AT, extractor="e",
                    extractor_version="0", title="Secret", record_label="Columbia Records", isrc="GBAYE6900123",
                    genres=["pop"], field_sources=[{"field": "title", "syntax": "json-ld", "locator": "x", "raw": "Secret"}])
    scrub(rec)
    assert rec.title is None and rec.record_label is None and rec.genres == [] and rec.field_sources == []
    assert rec.item_id == "i" * 64 and rec.page_url == "https://r.test/"
    lyr = _lyrics(text="x", text_stored=True, text_storage_basis="cc_license", text_sha256="a" * 64)
    scrub(lyr)
    assert (lyr.text, lyr.text_stored, lyr.text_storage_basis, lyr.text_sha256) == (None, False, "not_stored", None)
    assert {"item_id", "page_url"} <= IDENTIFYING_FIELDS


def test_audio_refused_is_frozen_and_carries_only_ids() -> None:
    marker = AudioRefused(item_type="recording", item_id="i" * 64, page_url="https://r.test/", http_status=200,
                          audio_url="https://cdn.test/a.mp3", verdict="deny", reasons=("robots.ai-token:GPTBot",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        marker.verdict = "allow"  # type: ignore[misc]
    assert {f.name for f in dataclasses.fields(marker)} == {
        "item_type", "item_id", "page_url", "http_status", "audio_url", "verdict", "reasons"}
