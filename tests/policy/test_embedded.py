"""Signals embedded in files: XMP (PLUS, TDMRep), C2PA/CAWG assertions, rights text in tags.

The containers (MP3/ID3v2, WAV/RIFF, FLAC, Ogg, JPEG, PDF) are built byte by byte here, the
way their specifications lay them out, so the readers are tested on real structures.
"""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.policy.decision import combine
from crawler.policy.embedded import (
    audio_tags,
    c2pa_finding,
    dmi_class,
    dmi_key,
    embedded_finding,
    find_xmp_packets,
    reservation_phrase,
    rights_text_finding,
    xmp_finding,
)
from crawler.policy.xrobots import x_robots_finding

VOCAB = "http://ns.useplus.org/ldf/vocab/"
C2PA_STORE_BOX = b"\x00\x00\x00\x1ejumd" + bytes.fromhex("6332706100110010800000aa00389b71") + b"\x03c2pa\x00"


# --- builders ----------------------------------------------------------------------------


def xmp(props: str = "", attrs: str = "", *, tdm_ns: str = "http://www.w3.org/ns/tdmrep/") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"\n'
        f'    xmlns:tdm="{tdm_ns}"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" {attrs}>\n'
        f"   {props}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode("utf-8")


def datamining(value: str) -> bytes:
    return xmp(f"<plus:DataMining>{value}</plus:DataMining>")


def syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def id3_frame(fid: str, body: bytes, version: int = 3, flags: bytes = b"\x00\x00") -> bytes:
    size = syncsafe(len(body)) if version == 4 else struct.pack(">I", len(body))
    return fid.encode() + size + flags + body


def id3(*frames: bytes, version: int = 3, flags: int = 0) -> bytes:
    payload = b"".join(frames) + b"\x00" * 16  # padding
    return b"ID3" + bytes((version, 0, flags)) + syncsafe(len(payload)) + payload


def text_frame(fid: str, text: str, version: int = 3, enc: int = 1) -> bytes:
    codec = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}[enc]
    return id3_frame(fid, bytes((enc,)) + text.encode(codec), version)


def mp3(*frames: bytes, version: int = 3) -> bytes:
    return id3(*frames, version=version) + b"\xff\xfb\x90\x64" + b"\x00" * 400


def geob_c2pa() -> bytes:
    manifest = b"\x00\x00\x01\x00jumb" + C2PA_STORE_BOX + b"....cawg.training-mining...."
    return id3_frame("GEOB", b"\x00application/c2pa\x00manifest.c2pa\x00\x00" + manifest)


def riff_chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def wav(*chunks: bytes) -> bytes:
    fmt = riff_chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16))
    data = riff_chunk(b"data", b"\x00\x00" * 100)
    body = b"WAVE" + fmt + data + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def vorbis_comments(pairs: dict[str, str]) -> bytes:
    vendor = b"reference libFLAC 1.4.3"
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(pairs))
    for key, value in pairs.items():
        entry = f"{key}={value}".encode()
        out += struct.pack("<I", len(entry)) + entry
    return out


def flac(pairs: dict[str, str]) -> bytes:
    streaminfo = b"\x00" + (34).to_bytes(3, "big") + b"\x00" * 34
    comments = vorbis_comments(pairs)
    block = bytes((0x80 | 4,)) + len(comments).to_bytes(3, "big") + comments
    return b"fLaC" + streaminfo + block + b"\xff\xf8" + b"\x00" * 100


def ogg(pairs: dict[str, str]) -> bytes:
    header = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e" + b"\x01vorbis" + b"\x00" * 23
    return header + b"OggS\x00\x00" + b"\x00" * 21 + b"\x03vorbis" + vorbis_comments(pairs) + b"\x01"


def jpeg(packet: bytes) -> bytes:
    app1 = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"


def pdf(packet: bytes) -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Metadata /Subtype /XML /Length "
        + str(len(packet)).encode()
        + b" >>\nstream\n"
        + packet
        + b"\nendstream\nendobj\n%%EOF\n"
    )


# --- XMP: plus:DataMining and tdm:reservation --------------------------------------------


@pytest.mark.parametrize(
    ("data", "strict", "verdict", "reasons"),
    [
        pytest.param(wav(riff_chunk(b"_PMX", datamining(VOCAB + "DMI-PROHIBITED-GENAIMLTRAINING"))),
                     False, "deny", ("embedded.xmp:plus-datamining=DMI-PROHIBITED-GENAIMLTRAINING",),
                     id="embedded-8.3-v1-wav-pmx-genai"),
        pytest.param(pdf(xmp("<tdm:reservation>1</tdm:reservation>")), False, "deny",
                     ("embedded.xmp:tdm-reservation=1",), id="embedded-8.3-v4-pdf-tdm-reservation"),
        pytest.param(datamining(VOCAB + "DMI-PROHIBITED"), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-PROHIBITED",), id="full-uri"),
        pytest.param(datamining("DMI-PROHIBITED-AIMLTRAINING"), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-PROHIBITED-AIMLTRAINING",), id="bare-key"),
        pytest.param(datamining("dmi-prohibited-seeconstraint"), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-PROHIBITED-SEECONSTRAINT",),
                     id="bare-key-lowercase"),
        pytest.param(datamining("Prohibited for Generative AI/ML training"), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-PROHIBITED-GENAIMLTRAINING",),
                     id="exiftool-label"),
        pytest.param(datamining("Prohibited except for search engine indexing"), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",),
                     id="except-search-indexing"),
        pytest.param(datamining(VOCAB + "DMI-ALLOWED"), True, "allow", (), id="allowed"),
        pytest.param(datamining(VOCAB + "DMI-UNSPECIFIED"), True, "allow", (), id="unspecified"),
        pytest.param(datamining("DMI-ALLOWED-noaitraining"), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-ALLOWED-NOAITRAINING",),
                     id="early-draft-conservative"),
        pytest.param(datamining("DMI-SOMETHING-NEW"), True, "deny",
                     ("embedded.xmp.malformed:plus-datamining",), id="unknown-key-strict"),
        pytest.param(datamining("DMI-SOMETHING-NEW"), False, "allow", (), id="unknown-key-lenient"),
        pytest.param(xmp(attrs=f'plus:DataMining="{VOCAB}DMI-PROHIBITED"'), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-PROHIBITED",), id="attribute-form"),
        pytest.param(xmp(f'<plus:DataMining rdf:resource="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"/>'),
                     False, "deny", ("embedded.xmp:plus-datamining=DMI-PROHIBITED-AIMLTRAINING",),
                     id="resource-form"),
        pytest.param(xmp("<tdm:reservation>1</tdm:reservation>",
                         tdm_ns="http://www.w3.org/ns/tdmrep#"), False, "deny",
                     ("embedded.xmp:tdm-reservation=1",), id="tdm-hash-namespace"),
        pytest.param(xmp(attrs='tdm:reservation="1" tdm:policy="https://h.test/policy.json"'),
                     False, "deny", ("embedded.xmp:tdm-reservation=1",), id="tdm-attributes"),
        pytest.param(xmp("<tdm:reservation>0</tdm:reservation>"), True, "allow", (), id="tdm-0"),
        pytest.param(xmp("<tdm:reservation>yes</tdm:reservation>"), True, "allow", (),
                     id="tdm-invalid-value-unset"),
        pytest.param(jpeg(datamining(VOCAB + "DMI-PROHIBITED")), False, "deny",
                     ("embedded.xmp:plus-datamining=DMI-PROHIBITED",), id="jpeg-app1"),
        pytest.param(datamining(VOCAB + "DMI-PROHIBITED")[:-80], True, "deny",
                     ("embedded.xmp.malformed",), id="cut-packet-strict"),
        pytest.param(datamining(VOCAB + "DMI-PROHIBITED")[:-80], False, "allow", (),
                     id="cut-packet-lenient"),
        pytest.param(xmp("<dc:title>x</dc:title>")[:-80], True, "allow", (),
                     id="cut-packet-without-signal"),
        pytest.param(b"<!DOCTYPE x [<!ENTITY e 'DMI-PROHIBITED'>]>" + datamining("&e;"), True,
                     "deny", ("embedded.xmp.malformed",), id="dtd-refused"),
        pytest.param(xmp("<dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>TDM reserved"
                         "</rdf:li></rdf:Alt></dc:rights>"), True, "deny",
                     ("embedded.rights-text:xmp:dc:rights",), id="xmp-rights-text-strict"),
        pytest.param(b"no xmp here", True, "allow", (), id="nothing"),
    ],
)
def test_xmp(data, strict, verdict, reasons):
    found = embedded_finding(data, strict=strict)
    assert found.verdict == verdict, found
    assert found.reasons == reasons
    assert xmp_finding(data, strict=strict).verdict == verdict


def test_xmp_records_raw_value_and_rule():
    found = xmp_finding(datamining(VOCAB + "DMI-PROHIBITED"), strict=True)
    assert ("xmp:plus:DataMining", VOCAB + "DMI-PROHIBITED") in found.signals
    assert found.rules == (f"xmp plus:DataMining = {VOCAB}DMI-PROHIBITED",)


def test_conflicting_packets_deny():
    data = datamining("DMI-ALLOWED") + b"\x00" * 10 + datamining("DMI-PROHIBITED")
    assert len(find_xmp_packets(data)) == 2
    assert embedded_finding(data, strict=False).verdict == "deny"


def test_bare_rdf_packet():
    packet = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
        b'plus:DataMining="DMI-PROHIBITED"/></rdf:RDF>'
    )
    assert xmp_finding(b"%PDF" + packet, strict=False).verdict == "deny"


@pytest.mark.parametrize(
    ("value", "key", "cls"),
    [
        (VOCAB + "DMI-ALLOWED", "DMI-ALLOWED", "allowed"),
        ("https://ns.useplus.org/ldf/vocab/DMI-PROHIBITED", "DMI-PROHIBITED", "prohibited"),
        ("DMI-Allowed", "DMI-ALLOWED", "allowed"),
        ("Unspecified - no prohibition defined", "DMI-UNSPECIFIED", "unspecified"),
        ("prohibited,  see plus:OtherConstraints", "DMI-PROHIBITED-SEECONSTRAINT", "prohibited"),
        ("DMI-SEE-constraint", "DMI-SEE-CONSTRAINT", "prohibited"),
        ("whatever", None, None),
    ],
)
def test_dmi_values(value, key, cls):
    assert dmi_key(value) == key
    if key is not None:
        assert dmi_class(key) == cls


# --- C2PA / CAWG ------------------------------------------------------------------------


def cawg(entries: dict, label: str = "cawg.training-mining") -> dict:
    return {label: {"entries": entries}}


@pytest.mark.parametrize(
    ("assertions", "signature_valid", "strict", "verdict", "reasons"),
    [
        pytest.param(cawg({"cawg.ai_generative_training": {"use": "notAllowed"}}), True, False,
                     "deny", ("embedded.cawg:ai_generative_training=notAllowed",),
                     id="c2pa-v1-cawg-generative-notallowed"),
        pytest.param(cawg({"c2pa.ai_training": {"use": "allowed"},
                           "c2pa.data_mining": {"use": "constrained"}}, "c2pa.training-mining"),
                     True, False, "deny", ("embedded.c2pa:data_mining=constrained",),
                     id="c2pa-v2-constrained-is-notallowed"),
        pytest.param(cawg({"cawg.ai_inference": {"use": "notAllowed"}}), True, True, "allow", (),
                     id="c2pa-v3-inference-only"),
        pytest.param(cawg({"cawg.ai_training": {"use": "notAllowed"}}), False, False, "deny",
                     ("embedded.cawg:ai_training=notAllowed",),
                     id="c2pa-v4-invalid-signature-still-reserves"),
        pytest.param(cawg({"cawg.ai_training": {"use": "allowed"}}), False, True, "deny",
                     ("embedded.c2pa.invalid-signature",), id="invalid-signature-strict"),
        pytest.param(cawg({"cawg.ai_training": {"use": "allowed"}}), False, False, "allow", (),
                     id="invalid-signature-lenient-no-grant"),
        pytest.param(cawg({"cawg.ai_training": {"use": "allowed"},
                           "cawg.ai_generative_training": {"use": "allowed"},
                           "cawg.data_mining": {"use": "allowed"}}), True, True, "allow", (),
                     id="all-allowed"),
        pytest.param({"cawg.training-mining": {"cawg.ai_training": {"use": "notAllowed"}}}, None,
                     False, "deny", ("embedded.cawg:ai_training=notAllowed",),
                     id="entries-at-top-level"),
        pytest.param([{"label": "cawg.training-mining",
                       "data": {"entries": {"cawg.data_mining": {"use": "notAllowed"}}}}],
                     None, False, "deny", ("embedded.cawg:data_mining=notAllowed",),
                     id="label-data-list"),
        pytest.param({"active_manifest": "urn:1", "manifests": {"urn:1": {"assertions": [
                         {"label": "c2pa.actions", "data": {}},
                         {"label": "c2pa.training-mining__1",
                          "data": {"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}}]}}},
                     True, False, "deny", ("embedded.c2pa:ai_training=notAllowed",),
                     id="manifest-store-instance-suffix"),
        pytest.param(cawg({"cawg.ai_training": {"use": "NotAllowed"}}), True, False, "deny",
                     ("embedded.cawg:ai_training=notAllowed",), id="use-case-insensitive"),
        pytest.param(cawg({"cawg.ai_training": {"use": "maybe"}}), True, True, "deny",
                     ("embedded.cawg.malformed:ai_training",), id="bad-use-strict"),
        pytest.param(cawg({"cawg.ai_training": {"use": "maybe"}}), True, False, "allow", (),
                     id="bad-use-lenient"),
        pytest.param({"cawg.training-mining": ["not", "a", "map"]}, True, True, "deny",
                     ("embedded.cawg.malformed",), id="entries-not-a-map-strict"),
        pytest.param(cawg({"com.example.custom": {"use": "notAllowed"}}), True, True, "allow", (),
                     id="custom-key-recorded-only"),
        pytest.param(cawg({"cawg.ai_training": "notAllowed"}), True, False, "deny",
                     ("embedded.cawg:ai_training=notAllowed",), id="bare-use-string"),
        pytest.param(cawg({"cawg.ai_training": {"constraint_info": "x"}}), True, True, "deny",
                     ("embedded.cawg.malformed:ai_training",), id="entry-without-use-strict"),
        pytest.param({"c2pa.actions": {"actions": []}}, False, True, "allow", (),
                     id="no-training-assertion-signature-irrelevant"),
        pytest.param({}, None, True, "allow", (), id="empty"),
    ],
)
def test_c2pa(assertions, signature_valid, strict, verdict, reasons):
    found = c2pa_finding(assertions, signature_valid=signature_valid, strict=strict)
    assert found.verdict == verdict, found
    assert found.reasons == reasons


def test_c2pa_signals():
    found = c2pa_finding(cawg({"cawg.ai_inference": {"use": "notAllowed"}}), signature_valid=None,
                         strict=True)
    assert ("inference_denied", "cawg.ai_inference=notAllowed") in found.signals
    assert ("c2pa-signature", "unchecked") in found.signals
    invalid = c2pa_finding(cawg({"cawg.ai_training": {"use": "notAllowed"}}),
                           signature_valid=False, strict=False)
    assert ("c2pa_invalid_signature", "1") in invalid.signals
    info = c2pa_finding(cawg({"cawg.data_mining": {"use": "constrained",
                                                   "constraints_info": "ask first"}}),
                        signature_valid=True, strict=False)
    assert ("c2pa-constraint-info", "cawg.data_mining: ask first") in info.signals


def test_c2pa_v5_allowed_manifest_and_noai_header():
    allowed = c2pa_finding(cawg({"cawg.ai_training": {"use": "allowed"}}), signature_valid=True,
                           strict=True)
    header = x_robots_finding(["noai"], "heed", strict=True)
    decision = combine([allowed, header], stage="item", url="https://h.test/a.mp3")
    assert decision.verdict == "deny"
    assert decision.reasons == ("noai:noai",)


# --- C2PA manifests inside files: detected, not decoded ---------------------------------


@pytest.mark.parametrize(
    ("data", "strict", "verdict", "reasons"),
    [
        pytest.param(mp3(geob_c2pa()), True, "hold", ("embedded.c2pa.undecoded",),
                     id="c2pa-v1-mp3-geob-undecoded-strict"),
        pytest.param(mp3(geob_c2pa()), False, "allow", (), id="mp3-geob-undecoded-lenient"),
        pytest.param(wav(riff_chunk(b"C2PA", b"\x00\x00\x01\x00jumb" + C2PA_STORE_BOX
                                    + b"c2pa.training-mining")), True, "hold",
                     ("embedded.c2pa.undecoded",), id="wav-c2pa-chunk"),
        pytest.param(wav(riff_chunk(b"C2PA", b"\x00\x00\x01\x00jumb" + C2PA_STORE_BOX
                                    + b"c2pa.actions")), True, "allow", (),
                     id="manifest-without-training-assertion"),
        pytest.param(b"\xff\xd8" + C2PA_STORE_BOX + b"cawg.training-mining", True, "hold",
                     ("embedded.c2pa.undecoded",), id="jumbf-anywhere"),
        pytest.param(b"text mentioning cawg.training-mining only", True, "allow", (),
                     id="label-without-manifest-store"),
    ],
)
def test_c2pa_in_files(data, strict, verdict, reasons):
    found = embedded_finding(data, strict=strict)
    assert found.verdict == verdict, found
    assert found.reasons == reasons


def test_c2pa_presence_recorded():
    found = embedded_finding(mp3(geob_c2pa()), strict=False)
    assert ("c2pa-manifest", "id3:GEOB application/c2pa") in found.signals
    assert ("c2pa-undecoded-assertion", "cawg.training-mining") in found.signals


# --- rights text and tags -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "strict", "verdict", "reasons"),
    [
        pytest.param(mp3(text_frame("TCOP", "℗ 2024 Sony Music Entertainment")), True, "allow", (),
                     id="embedded-8.3-v2-tcop-sony-routed-not-decided"),
        pytest.param(flac({"LICENSE": "CC-BY-4.0", "TITLE": "x"}), True, "allow", (),
                     id="embedded-8.3-v3-flac-license-cc-by"),
        pytest.param(mp3(text_frame("TCOP", "2024 Label. TDM reserved.")), True, "deny",
                     ("embedded.rights-text:id3:TCOP",), id="tcop-tdm-reserved-strict"),
        pytest.param(mp3(text_frame("TCOP", "2024 Label. TDM reserved.")), False, "allow", (),
                     id="tcop-tdm-reserved-lenient"),
        pytest.param(mp3(id3_frame("USER", b"\x03engNo AI training.")), True, "deny",
                     ("embedded.rights-text:id3:USER",), id="user-frame"),
        pytest.param(mp3(id3_frame("TXXX", b"\x03TDM\x00reserved")), True, "deny",
                     ("embedded.rights-text:id3:TXXX",), id="txxx-description-and-value"),
        pytest.param(mp3(text_frame("TCOP", "Rights reserved under Article 4 of the DSM directive",
                                    version=4, enc=3), version=4), True, "deny",
                     ("embedded.rights-text:id3:TCOP",), id="id3v24-utf8"),
        pytest.param(flac({"COPYRIGHT": "Text and data mining rights are reserved"}), True, "deny",
                     ("embedded.rights-text:vorbis:COPYRIGHT",), id="flac-tdm-phrase"),
        pytest.param(ogg({"LICENSE": "not for AI training"}), True, "deny",
                     ("embedded.rights-text:vorbis:LICENSE",), id="ogg-comment"),
        pytest.param(wav(riff_chunk(b"LIST", b"INFO" + riff_chunk(b"ICOP", b"(c) X. 2019/790 opt-out\x00"))),
                     True, "deny", ("embedded.rights-text:riff:ICOP",), id="wav-list-info-icop"),
        pytest.param(wav(riff_chunk(b"id3 ", id3(text_frame("TCOP", "TDM-reserved")))), True,
                     "deny", ("embedded.rights-text:id3:TCOP",), id="wav-id3-chunk"),
        pytest.param(id3(text_frame("TCOP", "TDM reserved")) + flac({"TITLE": "x"}), True, "deny",
                     ("embedded.rights-text:id3:TCOP",), id="flac-with-leading-id3"),
        pytest.param(mp3(id3_frame("PRIV", b"XMP\x00" + datamining("DMI-PROHIBITED"))), False,
                     "deny", ("embedded.xmp:plus-datamining=DMI-PROHIBITED",), id="id3-priv-xmp"),
        pytest.param(mp3(id3_frame("TCOP", b"\x00" + b"x" * 10, flags=b"\x00\x40")), True, "allow",
                     (), id="encrypted-frame-skipped"),
    ],
)
def test_tags(data, strict, verdict, reasons):
    found = embedded_finding(data, strict=strict)
    assert found.verdict == verdict, found
    assert found.reasons == reasons


def test_compressed_id3v23_frame():
    text = b"\x00TDM reserved"
    body = struct.pack(">I", len(text)) + zlib.compress(text)
    data = mp3(id3_frame("TCOP", body, flags=b"\x00\x80"))
    assert embedded_finding(data, strict=True).reasons == ("embedded.rights-text:id3:TCOP",)


def test_unsynchronised_id3v23_tag():
    # ID3v2.3 unsynchronisation: a zero byte follows every 0xFF of the tag body, frame sizes
    # count the bytes before that; the reader must undo it to find frame boundaries.
    frames = text_frame("TCOP", "TDM reserved \xff\xff", enc=0) + text_frame("TPUB", "Label", enc=0)
    payload = (frames + b"\x00" * 8).replace(b"\xff", b"\xff\x00")
    data = b"ID3\x03\x00\x80" + syncsafe(len(payload)) + payload + b"\xff\xfb"
    tags = dict(audio_tags(data))
    assert tags == {"id3:TCOP": "TDM reserved \xff\xff", "id3:TPUB": "Label"}
    assert embedded_finding(data, strict=True).verdict == "deny"


def test_tags_recorded_for_rightsholder_matching():
    data = mp3(
        text_frame("TCOP", "℗ 2022 Columbia Records, a Division of Sony Music Entertainment"),
        text_frame("TPUB", "Columbia"),
        text_frame("TSRC", "USSM12200001", enc=0),
        id3_frame("WCOP", b"https://label.test/legal"),
    )
    tags = dict(audio_tags(data))
    assert tags["id3:TCOP"].startswith("℗ 2022 Columbia")
    assert tags["id3:TPUB"] == "Columbia"
    assert tags["id3:TSRC"] == "USSM12200001"
    assert tags["id3:WCOP"] == "https://label.test/legal"
    found = embedded_finding(data, strict=True)
    assert ("id3:TSRC", "USSM12200001") in found.signals
    assert ("id3:TCOP", tags["id3:TCOP"]) in found.signals


def test_id3v22():
    frame = b"TCR" + (13).to_bytes(3, "big") + b"\x00TDM reserved"
    data = b"ID3\x02\x00\x00" + syncsafe(len(frame) + 8) + frame + b"\x00" * 8
    assert dict(audio_tags(data)) == {"id3:TCOP": "TDM reserved"}


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("TDM reserved", "tdm reserved"),
        ("TDM-Reservation: yes", "tdm reserved"),
        ("No AI training", "no ai training"),
        ("no AI/ML training allowed", "no ai training"),
        ("May not be used for machine learning training", "not for ai training"),
        ("Reserved pursuant to Art. 4(3)", "article 4"),
        ("Directive (EU) 2019/790", "directive 2019/790"),
        ("text and data mining: all rights reserved", "text and data mining reserved"),
        ("℗ 2024 Sony Music Entertainment", None),
        ("CC-BY-4.0", None),
        ("All rights reserved", None),
        ("Text and data mining welcome", None),
    ],
)
def test_reservation_phrases(text, phrase):
    assert reservation_phrase(text) == phrase


def test_rights_text_mapping_api():
    found = rights_text_finding({"vorbis:LICENSE": "CC-BY-4.0", "id3:USER": "no AI training"},
                                strict=True)
    assert found.verdict == "deny"
    assert found.reasons == ("embedded.rights-text:id3:USER",)
    assert ("vorbis:LICENSE", "CC-BY-4.0") in found.signals
    lenient = rights_text_finding({"id3:USER": "no AI training"}, strict=False)
    assert lenient.verdict == "allow"
    assert ("rights-text-flag", "id3:USER: no ai training") in lenient.signals


# --- never raises ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_embedded_never_raises(data):
    for strict in (True, False):
        embedded_finding(data, strict=strict)


_PREFIXES = [b"ID3\x03\x00\x00", b"ID3\x04\x00\x80", b"ID3\x02\x00\x00", b"RIFF", b"fLaC",
             b"OggS", b"<x:xmpmeta ", b"<rdf:RDF ", b"\xff\xd8"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(_PREFIXES), st.binary(max_size=600))
def test_container_fuzz_never_raises(prefix, rest):
    data = prefix + rest
    embedded_finding(data, strict=True)
    audio_tags(data)


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["entries", "use", "label", "data", "assertions",
                                       "manifests", "cawg.training-mining", "cawg.ai_training",
                                       "c2pa.training-mining", "constraint_info"]),
                      inner, max_size=4),
    max_leaves=20,
))
def test_c2pa_never_raises(obj):
    for valid in (True, False, None):
        c2pa_finding(obj, signature_valid=valid, strict=True)  # type: ignore[arg-type]
