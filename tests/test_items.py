"""The item dataclasses must speak the Arrow schema exactly: same names, same order, and no
``None`` default where the schema forbids nulls. A drift here would only show up as a failed
Parquet write in the middle of a crawl."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from itemadapter import ItemAdapter

from crawler.items import Recording, make_item_id
from pipelines.schema import RECORDING

FETCHED_AT = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


def _minimal(**overrides: object) -> Recording:
    values: dict[str, object] = {
        "item_id": make_item_id("generic_web", "https://music.test/t/1"),
        "source": "generic_web",
        "page_url": "https://music.test/t/1",
        "fetched_at": FETCHED_AT,
        "extractor": "jsonld",
        "extractor_version": "0.1.0",
    }
    values.update(overrides)
    return Recording(**values)  # type: ignore[arg-type]


def test_field_names_and_order_equal_schema() -> None:
    assert [f.name for f in dataclasses.fields(Recording)] == RECORDING.names


@pytest.mark.parametrize("name", RECORDING.names)
def test_nullability_matches_schema(name: str) -> None:
    schema_field = RECORDING.field(name)
    item_field = {f.name: f for f in dataclasses.fields(Recording)}[name]
    has_default = (
        item_field.default is not dataclasses.MISSING
        or item_field.default_factory is not dataclasses.MISSING
    )
    if schema_field.nullable:
        # Optional columns can be left out when building an item.
        assert has_default
    else:
        assert item_field.default is not None
        assert "None" not in str(item_field.type)


def test_minimal_item_defaults() -> None:
    item = _minimal()
    assert item.item_type == "recording"
    assert item.optout_decision == "allow"
    assert item.policy_hash == ""
    assert item.artists == [] and item.field_sources == [] and item.warnings == []
    assert item.artists is not _minimal().artists  # no shared mutable default


def test_items_convert_to_arrow_with_the_schema() -> None:
    full = _minimal(
        canonical_url="https://music.test/t/1",
        http_status=200,
        body_sha256="0" * 64,
        title="Night Drive",
        artist_credit="The Examples",
        artists=["The Examples"],
        album_title="Tidewater",
        duration_s=215.0,
        isrc="GBAYE6900123",
        license_url_raw="https://creativecommons.org/licenses/by-sa/4.0/",
        license_url="https://creativecommons.org/licenses/by-sa/4.0/",
        audio_url="https://cdn.example/night-drive.flac",
        field_sources=[
            {
                "field": "title",
                "syntax": "json-ld",
                "locator": "script[1]/name",
                "raw": "Night Drive",
            }
        ],
        warnings=["isrc_invalid"],
        policy_hash="f" * 64,
    )
    rows = [dataclasses.asdict(full), dataclasses.asdict(_minimal())]
    table = pa.Table.from_pylist(rows, schema=RECORDING)
    assert table.num_rows == 2
    assert table.column("fetched_at")[0].as_py() == FETCHED_AT
    assert table.column("field_sources")[0].as_py()[0]["locator"] == "script[1]/name"


def test_naive_fetched_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _minimal(fetched_at=datetime(2025, 3, 1, 12, 30))


def test_aware_fetched_at_is_stored_in_utc() -> None:
    paris_winter = timezone(timedelta(hours=1))
    item = _minimal(fetched_at=datetime(2025, 3, 1, 13, 30, tzinfo=paris_winter))
    assert item.fetched_at == FETCHED_AT
    assert item.fetched_at.tzinfo is UTC


def test_pipelines_can_fill_policy_fields_through_itemadapter() -> None:
    item = _minimal()
    adapter = ItemAdapter(item)
    adapter["optout_decision"] = "deny"
    adapter["policy_hash"] = "a" * 64
    assert item.optout_decision == "deny"
    assert item.policy_hash == "a" * 64


def test_recording_has_slots() -> None:
    with pytest.raises(AttributeError):
        _minimal().not_a_field = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "native_id"),
    [
        ("generic_web", "https://music.test/t/1"),
        ("jamendo", "1234567"),
        ("internet_archive", "fixture-tapes/side-a.flac"),
    ],
)
def test_make_item_id(source: str, native_id: str) -> None:
    item_id = make_item_id(source, native_id)
    assert item_id == hashlib.sha256(f"{source}:{native_id}".encode()).hexdigest()
    assert len(item_id) == 64


def test_make_item_id_separates_sources() -> None:
    assert make_item_id("jamendo", "1") != make_item_id("freesound", "1")
    assert make_item_id("generic_web", "x") == hashlib.sha256(b"generic_web:x").hexdigest()
