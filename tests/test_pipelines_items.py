"""Item pipelines: audio refusals, rights-holder registry, validation, licence allowlist,
duplicates, the items settings — and that each drop reaches the provenance log as an
``item`` deny row with its reason code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.settings import Settings

from crawler.items import AudioRefused, Lyrics, Recording, make_item_id
from crawler.policy.config import ConfigError
from crawler.policy.registry import Registry
from pipelines.items_audio import AudioPolicyPipeline, AudioReserved, AudioUnchecked
from pipelines.items_config import ItemsConfig, load_aliases
from pipelines.items_dedupe import DedupePipeline, DuplicateItem
from pipelines.items_license import LicenceAllowlistPipeline, LicenceNotAllowed
from pipelines.items_registry import RegistryItemPipeline, RegistryReserved, registry_reasons
from pipelines.validate import (
    BadDuration,
    BadIdentifier,
    BadItemId,
    EmptyLyrics,
    MissingTitle,
    TextWithoutBasis,
    UnlinkedLyrics,
    ValidateItemPipeline,
)

ROOT = Path(__file__).resolve().parents[1]
AT = datetime(2025, 3, 1, tzinfo=UTC)
REGISTRY = """id,holder,scope,value,source_url,declared_on
P1,Sony Music Entertainment,party,Sony Music Entertainment,https://rights.example/d,2024-05-16
P2,Northfield Records,party,Northfield Records Ltd,https://rights.example/n,2025-02-03
I1,Example Rights Collective,isrc-prefix,QZ-XR1,https://rights.example/d,2024-05-16
W1,Lyricline Publishing,iswc,T-034.524.680-1,https://rights.example/l,2025-09-30
"""


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    path = tmp_path / "reg.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    return Registry.load(path)


def config(**settings: object) -> ItemsConfig:
    return ItemsConfig.from_settings(Settings({"ITEMS_PARTY_ALIASES": str(ROOT / "data" / "party_aliases.csv"), **settings}))


def rec(**values: object) -> Recording:
    base: dict[str, object] = dict(item_id=make_item_id("generic_web", "https://r.test/t/1"), source="generic_web",
                                   page_url="https://r.test/t/1", canonical_url="https://r.test/t/1", fetched_at=AT,
                                   extractor="page", extractor_version="0", title="Night Drive",
                                   license_status="open")
    base.update(values)
    return Recording(**base)  # type: ignore[arg-type]


def lyr(**values: object) -> Lyrics:
    base: dict[str, object] = dict(item_id=make_item_id("generic_web", "https://r.test/t/1#lyrics"),
                                   source="generic_web", page_url="https://r.test/t/1", fetched_at=AT,
                                   extractor="page", extractor_version="0", line_count=2, text_sha256="b" * 64,
                                   recording_ref={"item_id": "r" * 64, "isrc": None, "mbid_recording": None},
                                   license_status="open")
    base.update(values)
    return Lyrics(**base)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- registry


@pytest.mark.parametrize(
    ("values", "reasons"),
    [
        ({"record_label": "Sony Music Entertainment"}, ("registry.party:P1",)),
        ({"record_label": "SONY MUSIC ENTERTAINMENT, INC."}, ("registry.party:P1",)),
        ({"copyright_notice": "℗ 2020 Columbia Records, a division of Sony Music Entertainment"}, ("registry.party:P1",)),
        ({"record_label": "Columbia Records"}, ("registry.party:P1",)),  # alias
        ({"music_publisher": "Sony/ATV Music Publishing LLC"}, ("registry.party:P1",)),
        ({"phonographic_notice": "(P) 2019 Northfield Records"}, ("registry.party:P2",)),  # legal form dropped
        ({"isrc": "QZXR12400001"}, ("registry.isrc:I1",)),
        ({"isrc_all": ["GBAYE6900123", "QZXR12400009"]}, ("registry.isrc:I1",)),
        ({"iswc": "T-034.524.680-1"}, ("registry.iswc:W1",)),
        ({"record_label": "Epic Sound Collective"}, ()),  # "Epic" alone is no alias
        ({"record_label": "Open Reel Collective", "isrc": "GBAYE6900123"}, ()),
    ],
)
def test_registry_matches(registry: Registry, values: dict[str, object], reasons: tuple[str, ...]) -> None:
    item = rec(**values)
    from crawler.extract.draft import apply_rights

    apply_rights(item)
    assert registry_reasons(registry, config().aliases, item) == reasons


def test_registry_drop_scrubs_the_item(registry: Registry) -> None:
    pipeline = RegistryItemPipeline(registry, config())
    item = rec(record_label="RCA Records", rights_holder_candidates=["rca records"], genres=["pop"])
    with pytest.raises(RegistryReserved) as caught:
        pipeline.process_item(item)
    assert caught.value.reason_code == ("registry.party:P1",)
    assert item.title is None and item.record_label is None and item.genres == [] and item.item_id


def test_registry_covers_lyrics_through_their_recording(registry: Registry) -> None:
    pipeline = RegistryItemPipeline(registry, config())
    item = lyr(recording_ref={"item_id": "r" * 64, "isrc": "QZXR12400001", "mbid_recording": None})
    with pytest.raises(RegistryReserved, match="registry.isrc:I1"):
        pipeline.process_item(item)
    with pytest.raises(RegistryReserved, match="registry.party:P1"):
        pipeline.process_item(lyr(rights_holder_candidates=["legacy recordings"]))
    kept = lyr()
    assert pipeline.process_item(kept) is kept


def test_alias_table_loads_and_refuses_bad_rows(tmp_path: Path) -> None:
    aliases = load_aliases(ROOT / "data" / "party_aliases.csv")
    assert {a.alias for a in aliases} >= {"columbia records", "rca records", "epic records", "arista records",
                                          "legacy recordings"}
    assert {a.party for a in aliases} == {"Sony Music Entertainment"}
    bad = tmp_path / "a.csv"
    bad.write_text("alias,party\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        load_aliases(bad)
    bad.write_text("alias,party,relationship,source_url,checked_on\n---,Sony,label,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        load_aliases(bad)


# ----------------------------------------------------------------------------- audio


def test_audio_refusal_becomes_a_drop_with_the_audio_reasons() -> None:
    marker = AudioRefused(item_type="recording", item_id="i" * 64, page_url="https://r.test/", http_status=200,
                          audio_url="https://cdn.test/a.mp3", verdict="deny",
                          reasons=("robots.ai-token:GPTBot", "tdmrep.file"))
    with pytest.raises(AudioReserved) as caught:
        AudioPolicyPipeline().process_item(marker)
    assert caught.value.reason_code == ("robots.ai-token:GPTBot", "tdmrep.file")


def test_audio_never_checked_fails_closed() -> None:
    pipeline = AudioPolicyPipeline()
    with pytest.raises(AudioUnchecked):
        pipeline.process_item(rec(audio_url="https://cdn.test/a.mp3", audio_url_kind="full"))
    embed = rec(audio_url="https://player.test/1", audio_url_kind="embed_page")
    checked = rec(audio_url="https://cdn.test/a.mp3", audio_url_kind="full", audio_fetch="ok")
    assert pipeline.process_item(embed) is embed and pipeline.process_item(checked) is checked


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (rec(title="  "), MissingTitle),
        (rec(item_id="short"), BadItemId),
        (rec(isrc="XXABC2400001"), BadIdentifier),
        (rec(isrc_all=["gbaye6900123"]), BadIdentifier),
        (rec(iswc="T-034.524.680-2"), BadIdentifier),
        (rec(upc_ean="4006381333932"), BadIdentifier),
        (rec(duration_s=90000.0), BadDuration),
        (lyr(recording_ref={"item_id": None, "isrc": None, "mbid_recording": None}), UnlinkedLyrics),
        (lyr(line_count=0), EmptyLyrics),
    ],
)
def test_validation_drops(item: object, error: type[DropItem]) -> None:
    with pytest.raises(error) as caught:
        ValidateItemPipeline().process_item(item)
    assert caught.value.reason_code.startswith("validate:")


def test_validation_refuses_text_that_slipped_past_the_item() -> None:
    item = lyr()
    object.__setattr__(item, "text", "smuggled")
    with pytest.raises(TextWithoutBasis):
        ValidateItemPipeline().process_item(item)


def test_valid_items_pass() -> None:
    for item in (rec(isrc="GBAYE6900123", isrc_all=["GBAYE6900123"], iswc="T-034.524.680-1"), lyr()):
        assert ValidateItemPipeline().process_item(item) is item


# ----------------------------------------------------------------------------- licences, duplicates


@pytest.mark.parametrize(
    ("status", "allow", "kept"),
    [
        ("open", None, True), ("public_domain", None, True), ("open_noncommercial", None, False),
        ("unknown", None, False), ("conflicting", None, False), ("all_rights_reserved", None, False),
        (None, None, False), ("open_noncommercial", ["open", "open_noncommercial"], True), ("unknown", ["*"], True),
    ],
)
def test_licence_allowlist(status: str | None, allow: list[str] | None, kept: bool) -> None:
    cfg = config(**({"ITEMS_LICENSE_ALLOW": allow} if allow else {}))
    item = rec(license_status=status)
    if kept:
        assert LicenceAllowlistPipeline(cfg).process_item(item) is item
    else:
        with pytest.raises(LicenceNotAllowed) as caught:
            LicenceAllowlistPipeline(cfg).process_item(item)
        assert caught.value.reason_code == f"license:{status or 'unknown'}"


def test_duplicates_by_isrc_and_canonical_url() -> None:
    pipeline = DedupePipeline()
    first = rec(isrc="GBAYE6900123")
    assert pipeline.process_item(first) is first
    with pytest.raises(DuplicateItem, match=first.item_id):
        pipeline.process_item(rec(item_id="f" * 64, canonical_url="https://other.test/x", isrc="GBAYE6900123"))
    with pytest.raises(DuplicateItem):
        pipeline.process_item(rec(canonical_url="https://r.test/t/1?again"))  # same item id
    second = rec(item_id=make_item_id("podcast_feed", "https://r.test/t/9"), source="podcast_feed",
                 canonical_url="https://r.test/t/9")
    assert pipeline.process_item(second) is second
    with pytest.raises(DuplicateItem):  # same canonical URL, and the id was made from it
        pipeline.process_item(rec(item_id=make_item_id("generic_web", "https://r.test/t/9"), canonical_url="https://r.test/t/9"))
    shared = rec(item_id="e" * 64, canonical_url="https://r.test/t/9")  # a shared canonical URL is no key
    assert pipeline.process_item(shared) is shared
    other = rec(item_id="d" * 64, canonical_url="https://r.test/t/2")
    assert pipeline.process_item(other) is other
    assert pipeline.process_item(lyr()) is not None
    with pytest.raises(DuplicateItem):
        pipeline.process_item(lyr(item_id="c" * 64))


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ITEMS_LICENSE_ALLOW": ["open", "free"]}, "ITEMS_LICENSE_ALLOW"),
        ({"ITEMS_AUDIO_HEAD_BYTES": "lots"}, "ITEMS_AUDIO_HEAD_BYTES"),
        ({"ITEMS_AUDIO_HEAD_BYTES": 10}, "ITEMS_AUDIO_HEAD_BYTES"),
        ({"ITEMS_AUDIO_MAX_BYTES": 2048, "ITEMS_AUDIO_HEAD_BYTES": 4096}, "ITEMS_AUDIO_MAX_BYTES"),
        ({"ITEMS_PARTY_ALIASES": "/nonexistent/aliases.csv"}, "ITEMS_PARTY_ALIASES"),
    ],
)
def test_bad_settings_name_themselves(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ItemsConfig.from_settings(Settings(settings))


def test_default_settings() -> None:
    from crawler import settings as heed

    cfg = ItemsConfig.from_settings(Settings({k: getattr(heed, k) for k in dir(heed) if k.startswith("ITEMS_")}))
    assert cfg.license_allow == {"open", "public_domain"}
    assert (cfg.audio_head_bytes, cfg.audio_tail_bytes, cfg.audio_max_bytes) == (65536, 65536, 4 << 20)
    assert cfg.aliases


# ----------------------------------------------------------------------------- the provenance log


def test_drops_reach_the_log_as_item_deny_rows(tmp_path: Path, registry: Registry) -> None:
    import pyarrow.dataset as ds

    from crawler.policy.config import PolicyConfig
    from pipelines.provenance import ProvenanceConfig, ProvenancePipeline

    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.set("POLICY_REGISTRIES", [str(tmp_path / "reg.csv")])
    policy = PolicyConfig.from_settings(settings)
    log = ProvenancePipeline(ProvenanceConfig(directory=tmp_path / "runs", run_id="r1", worker="w1"), policy)
    steps = [AudioPolicyPipeline(), RegistryItemPipeline(policy.registry, config()), ValidateItemPipeline(),
             LicenceAllowlistPipeline(config()), DedupePipeline()]
    items = [
        rec(),
        rec(item_id="1" * 64, canonical_url="https://r.test/2", record_label="Arista Records"),
        rec(item_id="2" * 64, canonical_url="https://r.test/3", license_status="unknown"),
        AudioRefused(item_type="recording", item_id="3" * 64, page_url="https://r.test/4", http_status=200,
                     audio_url="https://cdn.test/a.mp3", verdict="hold", reasons=("robots.unreachable:503",)),
    ]
    for item in items:
        try:
            for step in steps:
                item = step.process_item(item)
            log.process_item(item)
        except DropItem as exc:
            log.item_dropped(item, exc)
    log.close()
    rows = ds.dataset(tmp_path / "runs" / "r1" / "decisions", format="parquet").to_table().to_pylist()
    by_id = {r["item_id"]: (r["verdict"], r["reasons"]) for r in rows}
    assert by_id[items[0].item_id] == ("allow", [])
    assert by_id["1" * 64] == ("deny", ["registry.party:P1"])
    assert by_id["2" * 64] == ("deny", ["license:unknown"])
    assert by_id["3" * 64] == ("deny", ["robots.unreachable:503"])
    written = ds.dataset(tmp_path / "runs" / "r1" / "items" / "recording", format="parquet").to_table()
    assert written["item_id"].to_pylist() == [items[0].item_id]
