"""Licence normalisation tables (reference section 7.3) and conflict resolution."""

from __future__ import annotations

import pytest

from crawler.extract.licences import (
    SPDX_CC_IDS,
    Licence,
    licence_from_text,
    normalize_licence,
    resolve,
)

URL_TABLE = [
    ("https://creativecommons.org/licenses/by-sa/4.0/", "CC-BY-SA-4.0", "open", {"by", "sa"}),
    ("http://creativecommons.org/licenses/by-nc-nd/3.0/", "CC-BY-NC-ND-3.0", "open_noncommercial", {"by", "nc", "nd"}),
    ("creativecommons.org/licenses/by/4.0", "CC-BY-4.0", "open", {"by"}),
    ("https://creativecommons.org/licenses/by/4.0/legalcode.txt", "CC-BY-4.0", "open", {"by"}),
    ("https://creativecommons.org/licenses/by/4.0/deed.pt_BR", "CC-BY-4.0", "open", {"by"}),
    ("http://creativecommons.org/licenses/by-nc-sa/4.0/?ref=chooser-v1", "CC-BY-NC-SA-4.0", "open_noncommercial", {"by", "nc", "sa"}),
    ("http://creativecommons.org/licenses/by-nc-sa/3.0/de/deed.de", "CC-BY-NC-SA-3.0-DE", "open_noncommercial", {"by", "nc", "sa"}),
    ("https://creativecommons.org/licenses/by-nc-sa/3.0/us/", "LicenseRef-CC-BY-NC-SA-3.0-US", "open_noncommercial", {"by", "nc", "sa"}),
    ("https://creativecommons.org/licenses/by/3.0/es/", "LicenseRef-CC-BY-3.0-ES", "open", {"by"}),
    ("https://www.creativecommons.org/licenses/by-sa/2.0/uk/", "CC-BY-SA-2.0-UK", "open", {"by", "sa"}),
    ("http://creativecommons.org/licenses/by-nd-nc/1.0/", "CC-BY-NC-ND-1.0", "open_noncommercial", {"by", "nc", "nd"}),
    ("http://creativecommons.org/licenses/nc-sa/1.0/", "LicenseRef-CC-NC-SA-1.0", "open_noncommercial", {"nc", "sa"}),
    ("https://creativecommons.org/licenses/by-nd/4.0/", "CC-BY-ND-4.0", "open_noderivatives", {"by", "nd"}),
    ("https://creativecommons.org/publicdomain/zero/1.0/deed.en", "CC0-1.0", "public_domain", set()),
    ("http://creativecommons.org/publicdomain/mark/1.0/", "CC-PDM-1.0", "public_domain", set()),
    ("http://creativecommons.org/licenses/publicdomain/", "CC-PDDC", "public_domain", set()),
    ("http://creativecommons.org/licenses/sampling+/1.0/", "LicenseRef-CC-Sampling-Plus-1.0", "custom", None),
    ("https://creativecommons.org/licenses/what/", "LicenseRef-CC-unknown", "custom", None),
    ("https://example.org/license.txt", "NOASSERTION", "custom", None),
]


@pytest.mark.parametrize(("raw", "spdx", "status", "flags"), URL_TABLE)
def test_licence_urls(raw: str, spdx: str, status: str, flags: set[str] | None) -> None:
    lic = normalize_licence(raw, source="json-ld")
    assert lic is not None
    assert (lic.spdx, lic.status, lic.raw, lic.source) == (spdx, status, raw, "json-ld")
    if flags is None:
        assert lic.flags is None
    else:
        assert {k for k, v in (lic.flags or {}).items() if v} == flags


def test_reordered_elements_get_the_canonical_url() -> None:
    lic = normalize_licence("http://creativecommons.org/licenses/by-nd-nc/1.0/")
    assert lic is not None and lic.url == "https://creativecommons.org/licenses/by-nc-nd/1.0/"
    port = normalize_licence("http://creativecommons.org/licenses/by-nc-sa/3.0/de/deed.de")
    assert port is not None and (port.version, port.jurisdiction) == ("3.0", "de")
    assert port.url == "https://creativecommons.org/licenses/by-nc-sa/3.0/de/"


@pytest.mark.parametrize(
    ("raw", "vocabulary", "spdx", "status"),
    [
        ("cc-by-4.0", "", "CC-BY-4.0", "open"),
        ("CC-BY-SA-4.0", "", "CC-BY-SA-4.0", "open"),
        ("CC BY-SA 4.0", "", "CC-BY-SA-4.0", "open"),
        ("cc-by-sa-3.0-de", "", "CC-BY-SA-3.0-DE", "open"),
        ("cc0", "", "CC0-1.0", "public_domain"),
        ("pd", "", "LicenseRef-Public-Domain", "public_domain"),
        ("LAL-1.3", "", "LAL-1.3", "open"),
        ("all_rights_reserved", "", "NOASSERTION", "all_rights_reserved"),
        ("cc-by", "", "LicenseRef-CC-BY", "open"),
        ("all-rights-reserved", "soundcloud", "NOASSERTION", "all_rights_reserved"),
        ("no-rights-reserved", "soundcloud", "LicenseRef-SoundCloud-no-rights-reserved", "public_domain"),
        ("cc-by", "soundcloud", "LicenseRef-SoundCloud-cc-by", "open"),
        ("cc-by-nc-sa", "soundcloud", "LicenseRef-SoundCloud-cc-by-nc-sa", "open_noncommercial"),
        ("cc-by-nd", "soundcloud", "LicenseRef-SoundCloud-cc-by-nd", "open_noderivatives"),
    ],
)
def test_licence_tokens(raw: str, vocabulary: str, spdx: str, status: str) -> None:
    lic = normalize_licence(raw, vocabulary=vocabulary)
    assert lic is not None and (lic.spdx, lic.status) == (spdx, status)
    if vocabulary == "soundcloud":
        assert lic.version is None


@pytest.mark.parametrize("raw", ["available for free", "free download", "", "   ", "GPL-ish"])
def test_unrecognised_values_are_not_licences(raw: str) -> None:
    assert normalize_licence(raw) is None


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("© 2021 Fixture Label. All Rights Reserved.", "all_rights_reserved"),
        ("Tous droits réservés", "all_rights_reserved"),
        ("alle Rechte vorbehalten", "all_rights_reserved"),
        ("No rights reserved", "public_domain"),
        ("Some rights reserved", None),
        ("overall rights reservedness", None),
    ],
)
def test_rights_text(text: str, status: str | None) -> None:
    lic = licence_from_text(text)
    assert (lic.status if lic else None) == status


def test_the_spdx_list_has_the_55_cc_ids() -> None:
    assert len(SPDX_CC_IDS) == 55
    assert {"CC-BY-SA-2.1-JP", "CC-BY-3.0-IGO", "CC-PDDC", "CC0-1.0"} <= SPDX_CC_IDS


def _lic(raw: str, source: str) -> Licence:
    lic = normalize_licence(raw, source=source) or licence_from_text(raw, source=source)
    assert lic is not None
    return lic


def test_first_item_level_signal_wins() -> None:
    result = resolve([_lic("https://creativecommons.org/licenses/by/3.0/", "id3"),
                      _lic("https://creativecommons.org/licenses/by/4.0/", "json-ld")])
    assert result.winner is not None and result.winner.spdx == "CC-BY-4.0"  # json-ld ranks above id3
    assert result.status == "open" and not result.conflict  # versions differ, terms agree


def test_conflicts_resolve_to_the_most_restrictive() -> None:
    result = resolve([_lic("https://creativecommons.org/licenses/by/4.0/", "json-ld"),
                      _lic("All rights reserved", "platform")])
    assert result.conflict and result.status == "conflicting"
    assert result.winner is not None and result.winner.status == "all_rights_reserved"
    result = resolve([_lic("https://creativecommons.org/licenses/by-sa/4.0/", "api"),
                      _lic("https://creativecommons.org/licenses/by-nc-sa/4.0/", "id3")])
    assert result.status == "conflicting" and result.winner is not None and result.winner.spdx == "CC-BY-NC-SA-4.0"


def test_page_level_licences_count_only_without_item_level_ones() -> None:
    footer = _lic("https://creativecommons.org/licenses/by-nc/4.0/", "rel-license")
    item = _lic("https://creativecommons.org/licenses/by/4.0/", "microdata")
    result = resolve([footer, item])
    assert not result.conflict and result.winner == item
    alone = resolve([footer])
    assert alone.winner == footer and alone.status == "open_noncommercial"


def test_no_candidate_is_unknown() -> None:
    result = resolve([])
    assert (result.winner, result.status, result.conflict) == (None, "unknown", False)
