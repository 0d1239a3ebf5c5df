"""Opt-out signals embedded in downloaded files: XMP, C2PA/CAWG, and rights text in tags.

A reservation can travel inside the file itself, where no header or robots.txt line is
needed and where it survives re-hosting. heed reads what it can from bytes already
downloaded (this module does no I/O):

* **XMP packets** anywhere in the bytes (JPEG/PNG/PDF/MP4 carry them as plain text, MP3 in an
  ID3 ``PRIV`` frame owned by ``XMP``, WAV in a ``_PMX`` chunk):

  - IPTC/PLUS ``plus:DataMining``: every ``DMI-PROHIBITED*`` value is a reservation for a
    training dataset (``...EXCEPTSEARCHENGINEINDEXING`` allows only search indexing),
    ``DMI-ALLOWED`` is no reservation, ``DMI-UNSPECIFIED`` says nothing. The full URI, the
    bare ``DMI-...`` key and ExifTool's description label are all accepted; early-draft
    values (``DMI-ALLOWED-noaitraining``, ``DMI-SEE-constraint``) count as prohibitions.
    Reason ``embedded.xmp:plus-datamining=<DMI key>``.
  - TDMRep ``tdm:reservation`` (namespace ``http://www.w3.org/ns/tdmrep/`` or its ``#``
    form) ``1``: reason ``embedded.xmp:tdm-reservation=1``; ``tdm:policy`` is recorded.
  - ``dc:rights``, ``xmpRights:UsageTerms`` and ``plus:OtherConstraints`` go through the
    rights-text check below.

  Packets are parsed with defusedxml (a DTD is refused); a packet that does not parse but
  visibly carries one of these properties is a reservation in strict mode
  (``embedded.xmp.malformed``).

* **C2PA / CAWG training-and-data-mining assertions** (``c2pa.training-mining`` from C2PA 1.x,
  ``cawg.training-mining`` since): given as parsed JSON-like data (see :func:`c2pa_finding`).
  ``notAllowed`` and ``constrained`` on ``ai_training``, ``ai_generative_training`` or
  ``data_mining`` reserve (``embedded.cawg:ai_training=notAllowed``); ``ai_inference`` alone
  does not (signal ``inference_denied``). An invalid signature never lifts a restriction and
  never grants; in strict mode it is itself a reservation
  (``embedded.c2pa.invalid-signature``), since the manifest may have been altered.

  Decoding a manifest embedded in a file needs a JUMBF/CBOR decoder, which heed does not
  ship. :func:`embedded_finding` therefore only *detects* a manifest store (ID3 ``GEOB``
  with MIME ``application/c2pa``, a RIFF ``C2PA`` chunk, or the JUMBF description box of a
  C2PA manifest store anywhere in the bytes) and looks for training-mining assertion labels
  in it. A training-mining assertion it cannot read holds the file in strict mode
  (``embedded.c2pa.undecoded``); lenient mode records it.

* **Rights text** in free-text tags (ID3 ``TCOP``, ``USER``, ``TXXX``; Vorbis comments
  ``COPYRIGHT``, ``LICENSE``, ``RIGHTS``; RIFF ``ICOP``; the XMP properties above): a text
  that itself states a reservation ("TDM reserved", "no AI training", "Article 4",
  "Directive 2019/790", "text and data mining" with "reserv…") is a reservation in strict
  mode (``embedded.rights-text:<tag>``) and a flag otherwise. Other tag text (℗ lines,
  labels, ISRCs) is recorded as signals for rights-holder matching, never a verdict here.

Only a byte prefix may be available: whatever lies beyond it (a WAV's trailing ``C2PA``
chunk, a late XMP packet) is not seen. Ogg/Opus comments are read where their comment
packet is found; MP4 ``ilst`` atoms are not parsed (their XMP still is).
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from crawler.policy.decision import ALLOW, DENY, HOLD, Finding, worst

try:  # pragma: no branch
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring as _safe_fromstring

    _XML_ERRORS: tuple[type[BaseException], ...] = (DefusedXmlException,)
except ImportError:  # pragma: no cover - defusedxml ships with Scrapy
    _safe_fromstring = None
    _XML_ERRORS = ()

import xml.etree.ElementTree as ET  # noqa: E402

logger = logging.getLogger(__name__)

#: Bytes of a file that are scanned at most.
MAX_SCAN_BYTES: Final = 32 * 1024 * 1024
#: Packets parsed per file, and the largest packet parsed.
MAX_PACKETS: Final = 16
MAX_PACKET_BYTES: Final = 4 * 1024 * 1024

PLUS_NS: Final = "http://ns.useplus.org/ldf/xmp/1.0/"
PLUS_VOCAB: Final = "http://ns.useplus.org/ldf/vocab/"
TDM_NAMESPACES: Final = ("http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#")
RDF_NS: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC_NS: Final = "http://purl.org/dc/elements/1.1/"
XMP_RIGHTS_NS: Final = "http://ns.adobe.com/xap/1.0/rights/"

#: plus:DataMining keys and the labels ExifTool writes for them.
DMI_LABELS: Final = {
    "DMI-UNSPECIFIED": "Unspecified - no prohibition defined",
    "DMI-ALLOWED": "Allowed",
    "DMI-PROHIBITED-AIMLTRAINING": "Prohibited for AI/ML training",
    "DMI-PROHIBITED-GENAIMLTRAINING": "Prohibited for Generative AI/ML training",
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": "Prohibited except for search engine indexing",
    "DMI-PROHIBITED": "Prohibited",
    "DMI-PROHIBITED-SEECONSTRAINT": "Prohibited, see plus:OtherConstraints",
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": "Prohibited, see iptcExt:EmbdEncRightsExpr",
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": "Prohibited, see iptcExt:LinkedEncRightsExpr",
}
_LABEL_TO_KEY: Final = {" ".join(v.lower().split()): k for k, v in DMI_LABELS.items()}

TRAINING_KEYS: Final = ("ai_training", "ai_generative_training", "data_mining")
INFERENCE_KEY: Final = "ai_inference"
_C2PA_LABEL: Final = re.compile(r"^(c2pa|cawg)\.training-mining(?:\.v\d+)?(?:__\d+)?$")
_USES: Final = {"allowed": "allowed", "notallowed": "notAllowed", "constrained": "constrained"}

#: Free-text tags read by the rights-text check (lower-case suffix after ``source:``).
RIGHTS_TEXT_TAGS: Final = frozenset(
    {"tcop", "user", "txxx", "copyright", "license", "licence", "rights", "icop",
     "dc:rights", "xmprights:usageterms", "plus:otherconstraints"}
)
_RESERVATION_PHRASES: Final = (
    ("tdm reserved", re.compile(r"\btdm\W{0,3}reserv", re.IGNORECASE)),
    ("no ai training", re.compile(
        r"\bno\W{0,3}(?:ai|a\.i\.|ml|machine[\s-]learning)(?:\s*/\s*ml)?\W{0,3}training\b",
        re.IGNORECASE)),
    ("not for ai training", re.compile(
        r"\bnot\s+(?:be\s+)?(?:used\s+)?(?:for|to)\s+(?:ai|a\.i\.|ml|machine[\s-]learning)"
        r"(?:\s*/\s*ml)?\s+(?:training|train)", re.IGNORECASE)),
    ("article 4", re.compile(r"\bart(?:icle|\.)?\s*4\b", re.IGNORECASE)),
    ("directive 2019/790", re.compile(r"2019\s*/\s*790")),
)
_TDM_PHRASE: Final = re.compile(r"text\s+and\s+data\s+mining", re.IGNORECASE)
_RESERV: Final = re.compile(r"reserv", re.IGNORECASE)

#: The JUMBF description box of a C2PA manifest store: "jumd", then its UUID.
_C2PA_STORE: Final = b"jumd" + bytes.fromhex("6332706100110010800000aa00389b71")
_C2PA_LABEL_BYTES: Final = re.compile(rb"(?:c2pa|cawg)\.training-mining")
_C2PA_MIMES: Final = frozenset({"application/c2pa", "application/x-c2pa-manifest-store"})


def _merge(findings: Iterable[Finding]) -> Finding:
    """Several findings of this mechanism as one (most restrictive verdict wins)."""
    findings = tuple(findings)
    verdict = worst(f.verdict for f in findings)
    keep = [f for f in findings if f.verdict != ALLOW] if verdict != ALLOW else list(findings)
    return Finding(
        verdict=verdict,
        reasons=tuple(dict.fromkeys(r for f in keep for r in f.reasons)),
        evidence=tuple(dict.fromkeys(e for f in findings for e in f.evidence)),
        rules=tuple(dict.fromkeys(r for f in keep for r in f.rules)),
        signals=tuple(dict.fromkeys(s for f in findings for s in f.signals)),
    )


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- rights text ---------------------------------------------------------------------------


def reservation_phrase(text: str) -> str | None:
    """The reservation phrase a free text states, or None."""
    for name, pattern in _RESERVATION_PHRASES:
        if pattern.search(text):
            return name
    if _TDM_PHRASE.search(text) and _RESERV.search(text):
        return "text and data mining reserved"
    return None


def rights_text_finding(texts: Mapping[str, str], *, strict: bool) -> Finding:
    """Free-text tags that state a reservation; keys name the tag (``id3:TCOP``).

    Every text is recorded as a signal; a stated reservation denies in strict mode and is
    flagged (``rights-text-flag``) otherwise.
    """
    reasons: list[str] = []
    rules: list[str] = []
    signals: list[tuple[str, str]] = []
    for tag, text in texts.items():
        signals.append((tag, _short(text)))
        phrase = reservation_phrase(text)
        if phrase is None:
            continue
        signals.append(("rights-text-flag", f"{tag}: {phrase}"))
        if strict:
            reasons.append(f"embedded.rights-text:{tag}")
            rules.append(f"{tag} = {_short(text, 120)!r} ({phrase})")
    signals_t = tuple(dict.fromkeys(signals))
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            rules=tuple(rules),
            signals=signals_t,
        )
    return Finding(verdict=ALLOW, signals=signals_t)


# --- XMP -----------------------------------------------------------------------------------

_XMP_START: Final = re.compile(rb"<([A-Za-z_][\w.-]*:)?(x[ma]pmeta)[\s>/]")
_RDF_START: Final = re.compile(rb"<([A-Za-z_][\w.-]*:)?(RDF)[\s>]")
#: A property (not just a namespace declaration) that a broken packet would have carried.
_MENTIONS: Final = re.compile(rb"DataMining|DMI-|:reservation\b", re.IGNORECASE)


def find_xmp_packets(data: bytes) -> list[bytes]:
    """XMP packets (``<x:xmpmeta>`` elements, else bare ``<rdf:RDF>``) found in ``data``.

    A packet whose end lies beyond the data is returned cut, and fails to parse later.
    """
    packets: list[bytes] = []
    for start_re in (_XMP_START, _RDF_START):
        pos = 0
        while len(packets) < MAX_PACKETS:
            m = start_re.search(data, pos)
            if m is None:
                break
            prefix = m.group(1) or b""
            end_re = re.compile(rb"</" + re.escape(prefix + m.group(2)) + rb"\s*>")
            end = end_re.search(data, m.start(), m.start() + MAX_PACKET_BYTES)
            stop = end.end() if end else min(len(data), m.start() + MAX_PACKET_BYTES)
            packets.append(data[m.start() : stop])
            pos = stop
        if packets:
            break
    return packets


def _parse_xml(packet: bytes) -> Any:
    if re.search(rb"<!DOCTYPE|<!ENTITY", packet, re.IGNORECASE):
        raise ValueError("dtd")
    if _safe_fromstring is not None:
        return _safe_fromstring(packet, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return ET.fromstring(packet)  # pragma: no cover


def _split_tag(tag: Any) -> tuple[str, str]:
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _properties(root: Any) -> Iterator[tuple[str, str, str]]:
    """(namespace, local name, value) of every element and attribute under ``root``."""
    resource = f"{{{RDF_NS}}}resource"
    for element in root.iter():
        for attr, value in element.attrib.items():
            ns, name = _split_tag(attr)
            yield ns, name, value
        ns, name = _split_tag(element.tag)
        if not name:
            continue
        value = element.get(resource)
        if value is None:
            value = " ".join(t.strip() for t in element.itertext() if t.strip())
        yield ns, name, value


def dmi_key(value: str) -> str | None:
    """The ``plus:DataMining`` key a value stands for (``DMI-PROHIBITED``...), or None.

    Accepts the full URI, the bare key (any case) and ExifTool's label. Unknown ``DMI-``
    keys are returned upper-cased as written; other text gives None.
    """
    text = " ".join(value.split())
    lowered = text.lower()
    for prefix in (PLUS_VOCAB, PLUS_VOCAB.replace("http:", "https:")):
        if lowered.startswith(prefix):
            text = text[len(prefix) :]
            lowered = text.lower()
            break
    if lowered.startswith("dmi-"):
        return text.upper()
    return _LABEL_TO_KEY.get(lowered)


def dmi_class(key: str) -> str:
    """``prohibited``, ``allowed``, ``unspecified`` or ``unknown`` for a DMI key."""
    if key == "DMI-ALLOWED":
        return "allowed"
    if key == "DMI-UNSPECIFIED":
        return "unspecified"
    if key.startswith("DMI-PROHIBITED"):
        return "prohibited"
    if key.startswith(("DMI-ALLOWED-", "DMI-SEE")):
        return "prohibited"  # early-draft vocabulary, read conservatively
    return "unknown"


def _packet_finding(root: Any, *, strict: bool) -> Finding:
    reasons: list[str] = []
    rules: list[str] = []
    signals: list[tuple[str, str]] = []
    texts: dict[str, str] = {}
    for ns, name, value in _properties(root):
        if ns == PLUS_NS and name == "DataMining":
            signals.append(("xmp:plus:DataMining", _short(value)))
            key = dmi_key(value)
            kind = dmi_class(key) if key else ("unspecified" if not value.strip() else "unknown")
            if kind == "prohibited":
                reasons.append(f"embedded.xmp:plus-datamining={key}")
                rules.append(f"xmp plus:DataMining = {_short(value, 120)}")
            elif kind == "unknown":
                signals.append(("xmp-datamining-unknown", _short(value)))
                if strict:
                    reasons.append("embedded.xmp.malformed:plus-datamining")
                    rules.append(
                        f"xmp plus:DataMining = {_short(value, 120)} (not in the vocabulary)"
                    )
        elif ns in TDM_NAMESPACES and name == "reservation":
            signals.append(("xmp:tdm:reservation", _short(value)))
            if value.strip() == "1":
                reasons.append("embedded.xmp:tdm-reservation=1")
                rules.append("xmp tdm:reservation = 1")
            elif value.strip() != "0":
                signals.append(("tdm-reservation-invalid", _short(value)))
        elif ns in TDM_NAMESPACES and name == "policy":
            signals.append(("xmp:tdm:policy", _short(value)))
        elif ns == PLUS_NS and name == "OtherConstraints" and value.strip():
            texts["xmp:plus:OtherConstraints"] = value
        elif ns == DC_NS and name == "rights" and value.strip():
            texts["xmp:dc:rights"] = value
        elif ns == XMP_RIGHTS_NS and name == "UsageTerms" and value.strip():
            texts["xmp:xmpRights:UsageTerms"] = value
    found = Finding(
        verdict=DENY if reasons else ALLOW,
        reasons=tuple(dict.fromkeys(reasons)),
        rules=tuple(dict.fromkeys(rules)),
        signals=tuple(dict.fromkeys(signals)),
    )
    return _merge((found, rights_text_finding(texts, strict=strict))) if texts else found


def _packets_finding(packets: Sequence[bytes], *, strict: bool) -> Finding:
    findings: list[Finding] = []
    for i, packet in enumerate(packets):
        try:
            root = _parse_xml(packet)
        except (ValueError, ET.ParseError, LookupError, UnicodeError, RecursionError, *_XML_ERRORS):
            mentions = bool(_MENTIONS.search(packet))
            signals = (("xmp-malformed", f"packet {i}, {len(packet)} bytes"),)
            if strict and mentions:
                findings.append(
                    Finding(
                        verdict=DENY,
                        reasons=("embedded.xmp.malformed",),
                        rules=(f"xmp packet {i} does not parse but names a data-mining property",),
                        signals=signals,
                    )
                )
            else:
                findings.append(Finding(verdict=ALLOW, signals=signals))
            continue
        findings.append(_packet_finding(root, strict=strict))
    return _merge(findings) if findings else Finding(verdict=ALLOW)


def xmp_finding(data: bytes, *, strict: bool) -> Finding:
    """What the XMP packets in ``data`` (a file or a packet) say about AI training."""
    return _packets_finding(find_xmp_packets(data[:MAX_SCAN_BYTES]), strict=strict)


# --- C2PA / CAWG assertions ---------------------------------------------------------------


def _assertions(obj: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(label, data) pairs from the shapes a manifest (store) reader produces."""
    if depth > 6:
        return
    if isinstance(obj, Mapping):
        if isinstance(obj.get("manifests"), Mapping):
            for manifest in obj["manifests"].values():
                yield from _assertions(manifest, depth + 1)
            return
        if "assertions" in obj:
            yield from _assertions(obj["assertions"], depth + 1)
            return
        if isinstance(obj.get("label"), str):
            data = obj.get("data", {k: v for k, v in obj.items() if k != "label"})
            yield obj["label"], data
            return
        for label, data in obj.items():
            if isinstance(label, str):
                yield label, data
    elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        for element in obj:
            yield from _assertions(element, depth + 1)


def c2pa_finding(
    assertions: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    signature_valid: bool | None,
    strict: bool,
) -> Finding:
    """What C2PA/CAWG training-and-data-mining assertions say about AI training.

    ``assertions`` may be a mapping of label to assertion data, a sequence of
    ``{"label": ..., "data": ...}`` objects, one manifest (``{"assertions": [...]}``) or a
    manifest store (``{"manifests": {...}}``, every manifest read). Assertion data is
    ``{"entries": {key: {"use": ...}}}``, or the entries at top level (CAWG 1.0's schema).
    ``signature_valid``: True verified, False failed validation, None not checked.
    """
    reasons: list[str] = []
    rules: list[str] = []
    signals: list[tuple[str, str]] = []
    seen = False
    for label, data in _assertions(assertions):
        m = _C2PA_LABEL.match(label)
        if m is None:
            continue
        seen = True
        family = m.group(1)
        signals.append(("c2pa-assertion", label))
        entries = data.get("entries", data) if isinstance(data, Mapping) else None
        if not isinstance(entries, Mapping):
            signals.append(("c2pa-malformed", f"{label}: entries"))
            if strict:
                reasons.append(f"embedded.{family}.malformed")
                rules.append(f"{label}: entries are not a map")
            continue
        for raw_key, entry in entries.items():
            if not isinstance(raw_key, str) or raw_key == "metadata":
                continue
            key = raw_key.split(".", 1)[1] if raw_key.startswith(("c2pa.", "cawg.")) else raw_key
            # ``{"use": "notAllowed"}``; a bare ``"notAllowed"`` is read the same way
            raw_use = entry.get("use") if isinstance(entry, Mapping) else entry
            use = _USES.get(raw_use.lower()) if isinstance(raw_use, str) else None
            info = None
            if isinstance(entry, Mapping):
                info = entry.get("constraint_info", entry.get("constraints_info"))
            signals.append(("c2pa-entry", f"{family}.{key}={raw_use}"))
            if isinstance(info, str) and info.strip():
                signals.append(("c2pa-constraint-info", f"{family}.{key}: {_short(info)}"))
            if use is None:
                signals.append(("c2pa-malformed", f"{label}: {raw_key}"))
                if strict and key in (*TRAINING_KEYS, INFERENCE_KEY):
                    reasons.append(f"embedded.{family}.malformed:{key}")
                    rules.append(f"{label} {raw_key}: use={raw_use!r}")
                continue
            if use == "allowed":
                continue
            if key in TRAINING_KEYS:
                reasons.append(f"embedded.{family}:{key}={use}")
                rules.append(f"{label} {raw_key}: {use}")
            elif key == INFERENCE_KEY:
                signals.append(("inference_denied", f"{family}.{key}={use}"))
            else:
                signals.append(("c2pa-custom", f"{raw_key}={use}"))
    if seen:
        if signature_valid is False:
            signals.append(("c2pa_invalid_signature", "1"))
            if strict:
                reasons.append("embedded.c2pa.invalid-signature")
                rules.append("c2pa manifest signature failed validation")
        elif signature_valid is None:
            signals.append(("c2pa-signature", "unchecked"))
    signals_t = tuple(dict.fromkeys(signals))
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            rules=tuple(dict.fromkeys(rules)),
            signals=signals_t,
        )
    return Finding(verdict=ALLOW, signals=signals_t)


# --- containers: ID3v2, RIFF, FLAC/Ogg comments ------------------------------------------

#: Tags recorded for rights-holder matching (identifiers and evidence), by source.
ID3_TAGS: Final = {
    "TCOP": "TCOP", "TPUB": "TPUB", "TOWN": "TOWN", "TSRC": "TSRC", "WCOP": "WCOP",
    "WPUB": "WPUB", "USER": "USER", "TXXX": "TXXX",
    # ID3v2.2 three-character ids
    "TCR": "TCOP", "TPB": "TPUB", "TRC": "TSRC", "WCP": "WCOP", "WPB": "WPUB", "TXX": "TXXX",
}
VORBIS_TAGS: Final = frozenset(
    {"COPYRIGHT", "LICENSE", "LICENCE", "RIGHTS", "ORGANIZATION", "LABEL", "PUBLISHER", "ISRC"}
)


def _syncsafe(b: bytes) -> int:
    return (b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F)


def _decode(enc: int, raw: bytes) -> str:
    codec = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}.get(enc, "latin-1")
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        text = raw.decode(codec, "replace") if codec != "utf-16" else raw.decode("latin-1")
    return text.replace("\x00", " / ").strip(" /")


def _split_terminated(enc: int, raw: bytes) -> tuple[bytes, bytes]:
    """Split at the first string terminator of the encoding (two zero bytes for UTF-16)."""
    if enc in (1, 2):
        for i in range(0, len(raw) - 1, 2):
            if raw[i : i + 2] == b"\x00\x00":
                return raw[:i], raw[i + 2 :]
        return raw, b""
    head, _, tail = raw.partition(b"\x00")
    return head, tail


class _Scan:
    """What the container readers found: tags, XMP payloads, C2PA manifest markers."""

    def __init__(self) -> None:
        self.tags: list[tuple[str, str]] = []
        self.packets: list[bytes] = []
        self.c2pa: list[str] = []


def _id3_frame(scan: _Scan, fid: str, body: bytes) -> None:
    if not body:
        return
    name = ID3_TAGS.get(fid)
    if fid in ("GEOB", "GEO"):
        # encoding byte, then the MIME type (Latin-1, zero-terminated), then the object
        mime = body[1:].split(b"\x00", 1)[0].decode("latin-1").strip().lower()
        if mime in _C2PA_MIMES:
            scan.c2pa.append(f"id3:{fid} {mime}")
        return
    if fid == "PRIV":
        owner, _, payload = body.partition(b"\x00")
        if owner == b"XMP":
            scan.packets.extend(find_xmp_packets(payload))
        return
    if name is None:
        return
    if fid[0] == "W":
        scan.tags.append((f"id3:{name}", _decode(0, body.split(b"\x00", 1)[0])))
    elif name == "USER":
        scan.tags.append(("id3:USER", _decode(body[0], body[4:])))
    elif name == "TXXX":
        desc, value = _split_terminated(body[0], body[1:])
        text = f"{_decode(body[0], desc)}: {_decode(body[0], value)}".strip(": ")
        scan.tags.append(("id3:TXXX", text))
    else:
        scan.tags.append((f"id3:{name}", _decode(body[0], body[1:])))


def _read_id3(data: bytes, scan: _Scan, offset: int = 0) -> int:
    """Read an ID3v2 tag at ``offset``; return the offset after it (``offset`` if none)."""
    head = data[offset : offset + 10]
    if len(head) < 10 or head[:3] != b"ID3" or head[3] not in (2, 3, 4):
        return offset
    major, flags = head[3], head[5]
    size = _syncsafe(head[6:10])
    end = offset + 10 + size
    tag = data[offset + 10 : end]
    if flags & 0x80 and major < 4:
        tag = tag.replace(b"\xff\x00", b"\xff")
    pos = 0
    if flags & 0x40 and major >= 3 and len(tag) >= 4:
        pos = (struct.unpack(">I", tag[:4])[0] + 4) if major == 3 else _syncsafe(tag[:4])
    id_len, header_len = (3, 6) if major == 2 else (4, 10)
    frames = 0
    while pos + header_len <= len(tag) and frames < 512:
        frames += 1
        fid_raw = tag[pos : pos + id_len]
        if not re.fullmatch(rb"[A-Z0-9]+", fid_raw):
            break
        fid = fid_raw.decode("ascii")
        if major == 2:
            fsize = int.from_bytes(tag[pos + 3 : pos + 6], "big")
            fflags = 0
        elif major == 3:
            fsize = struct.unpack(">I", tag[pos + 4 : pos + 8])[0]
            fflags = tag[pos + 9]
        else:
            fsize = _syncsafe(tag[pos + 4 : pos + 8])
            fflags = tag[pos + 9]
        body = tag[pos + header_len : pos + header_len + fsize]
        pos += header_len + fsize
        if major == 3:
            if fflags & 0x40:  # encrypted
                continue
            if fflags & 0x20:  # grouping byte
                body = body[1:]
            if fflags & 0x80:  # zlib, after a 4-byte decompressed size
                body = _inflate(body[4:])
        elif major == 4:
            if fflags & 0x04:  # encrypted
                continue
            if fflags & 0x40:
                body = body[1:]
            if fflags & 0x01:  # data length indicator
                body = body[4:]
            if fflags & 0x02 or flags & 0x80:
                body = body.replace(b"\xff\x00", b"\xff")
            if fflags & 0x08:
                body = _inflate(body)
        _id3_frame(scan, fid, body)
    return end if end <= len(data) else len(data)


def _inflate(raw: bytes) -> bytes:
    try:
        return zlib.decompressobj().decompress(raw, 1 << 20)
    except zlib.error:
        return b""


def _read_comments(data: bytes, pos: int, scan: _Scan, source: str) -> None:
    """A Vorbis comment block (vendor string, count, ``KEY=value`` entries) at ``pos``."""
    try:
        (vendor_len,) = struct.unpack_from("<I", data, pos)
        pos += 4 + vendor_len
        (count,) = struct.unpack_from("<I", data, pos)
        pos += 4
        for _ in range(min(count, 1024)):
            (length,) = struct.unpack_from("<I", data, pos)
            pos += 4
            entry = data[pos : pos + length]
            pos += length
            if len(entry) < length:
                return
            key, sep, value = entry.decode("utf-8", "replace").partition("=")
            if sep and key.upper() in VORBIS_TAGS:
                scan.tags.append((f"{source}:{key.upper()}", value))
    except struct.error:
        return


def _read_flac(data: bytes, pos: int, scan: _Scan) -> None:
    pos += 4  # "fLaC"
    for _ in range(128):
        if pos + 4 > len(data):
            return
        header = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        if header & 0x7F == 4:
            _read_comments(data[pos + 4 : pos + 4 + length], 0, scan, "vorbis")
        pos += 4 + length
        if header & 0x80:
            return


def _read_riff(data: bytes, scan: _Scan) -> None:
    pos = 12
    for _ in range(4096):
        if pos + 8 > len(data):
            return
        cid = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"C2PA":
            scan.c2pa.append("riff:C2PA chunk")
        elif cid == b"_PMX":
            scan.packets.extend(find_xmp_packets(body))
        elif cid in (b"id3 ", b"ID3 "):
            _read_id3(body, scan)
        elif cid == b"LIST" and body[:4] == b"INFO":
            sub = 4
            while sub + 8 <= len(body):
                sid = body[sub : sub + 4]
                (ssize,) = struct.unpack_from("<I", body, sub + 4)
                if sid == b"ICOP":
                    text = body[sub + 8 : sub + 8 + ssize].split(b"\x00", 1)[0]
                    scan.tags.append(("riff:ICOP", text.decode("utf-8", "replace")))
                sub += 8 + ssize + (ssize & 1)
        pos += 8 + size + (size & 1)


def _scan(data: bytes) -> _Scan:
    scan = _Scan()
    after_id3 = _read_id3(data, scan)
    if data[after_id3 : after_id3 + 4] == b"fLaC":
        _read_flac(data, after_id3, scan)
    if data[:4] == b"RIFF" and len(data) >= 12:
        _read_riff(data, scan)
    for marker, skip in ((b"\x03vorbis", 7), (b"OpusTags", 8)):
        at = data.find(marker, 0, 1 << 20)
        if at >= 0 and data[:4] == b"OggS":
            _read_comments(data, at + skip, scan, "vorbis")
    if data.find(_C2PA_STORE) >= 0:
        scan.c2pa.append("jumbf c2pa manifest store")
    return scan


def audio_tags(data: bytes) -> tuple[tuple[str, str], ...]:
    """Rights and identity tags found in ``data``: ``(("id3:TCOP", "℗ 2024 ..."), ...)``.

    For rights-holder matching; sources are ``id3``, ``vorbis`` (FLAC and Ogg) and ``riff``.
    """
    return tuple(dict.fromkeys(_scan(data[:MAX_SCAN_BYTES]).tags))


def _c2pa_presence(data: bytes, markers: Sequence[str], *, strict: bool) -> Finding:
    if not markers:
        return Finding(verdict=ALLOW)
    signals: list[tuple[str, str]] = [("c2pa-manifest", m) for m in dict.fromkeys(markers)]
    labels = sorted({m.decode() for m in _C2PA_LABEL_BYTES.findall(data)})
    signals.extend(("c2pa-undecoded-assertion", label) for label in labels)
    if labels and strict:
        return Finding(
            verdict=HOLD,
            reasons=("embedded.c2pa.undecoded",),
            rules=(f"c2pa manifest with {', '.join(labels)} found but not decoded",),
            signals=tuple(signals),
        )
    return Finding(verdict=ALLOW, signals=tuple(signals))


def embedded_finding(data: bytes, *, strict: bool) -> Finding:
    """Everything this module can read in the bytes (or byte prefix) of a downloaded file."""
    data = data[:MAX_SCAN_BYTES]
    scan = _scan(data)
    packets = find_xmp_packets(data)
    packets.extend(p for p in scan.packets if p not in packets)
    texts: dict[str, str] = {}
    other: list[tuple[str, str]] = []
    for tag, value in scan.tags:
        if tag.split(":", 1)[1].lower() in RIGHTS_TEXT_TAGS:
            key, n = tag, 1
            while key in texts:
                n += 1
                key = f"{tag}[{n}]"
            texts[key] = value
        else:
            other.append((tag, _short(value)))
    findings = [
        _packets_finding(packets, strict=strict) if packets else Finding(verdict=ALLOW),
        rights_text_finding(texts, strict=strict),
        _c2pa_presence(data, scan.c2pa, strict=strict),
        Finding(verdict=ALLOW, signals=tuple(other)),
    ]
    return _merge(findings)


__all__ = [
    "DMI_LABELS",
    "INFERENCE_KEY",
    "MAX_SCAN_BYTES",
    "PLUS_NS",
    "TDM_NAMESPACES",
    "TRAINING_KEYS",
    "audio_tags",
    "c2pa_finding",
    "dmi_class",
    "dmi_key",
    "embedded_finding",
    "find_xmp_packets",
    "reservation_phrase",
    "rights_text_finding",
    "xmp_finding",
]
