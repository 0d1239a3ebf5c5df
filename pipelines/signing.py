"""Ed25519 signatures over ``manifest.json``: what pins the hash chain.

The manifest's hash chain catches a deleted, inserted or reordered file, but whoever can
rewrite the files can rewrite the manifest too and recompute the chain. A signature made
with a key the operator keeps elsewhere closes that gap: any rewrite of the manifest (and
so of any file it lists) breaks it.

* ``PROVENANCE_SIGNING_KEY`` names a PEM file holding an unencrypted PKCS#8 Ed25519
  private key (create one with ``scrapy audit keygen``). The key never enters the run
  directory or the log; only its public half and fingerprint do.
* The signature covers the manifest serialised by :func:`pipelines.manifest.dump` without
  its ``signature`` member, and is stored in that member::

      "signature": {"algorithm": "ed25519", "public_key": "<base64 raw 32 bytes>",
                    "key_fingerprint": "sha256:<hex of the raw public key>",
                    "value": "<base64 signature>"}

* ``scrapy audit verify RUN_DIR --public-key FILE`` checks the signature against a public
  key the auditor obtained independently: an embedded key alone proves only that *someone*
  signed, since a forger can re-sign with a key of their own.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM: Final = "ed25519"
SIGNATURE_KEY: Final = "signature"


class SigningError(ValueError):
    """A key file is missing, unreadable or not an Ed25519 key."""


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class Signer:
    """An Ed25519 private key loaded from a PEM file."""

    key: Ed25519PrivateKey

    @classmethod
    def from_file(cls, path: str | Path) -> Signer:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise SigningError(f"cannot read the signing key {path}: {exc.strerror}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningError(f"{path} is not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        return cls(key)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def signature_block(self, data: bytes) -> dict[str, str]:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(raw).decode("ascii"),
            "key_fingerprint": self.fingerprint,
            "value": base64.b64encode(self.key.sign(data)).decode("ascii"),
        }


def generate_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (private key mode 0600, refusing to overwrite); return the
    public key's fingerprint."""
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path} already exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(public_pem)
    return fingerprint(key.public_key())


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A public key from a PEM file (as written by :func:`generate_keypair`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read the public key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path} is not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    from pipelines.manifest import dump

    return dump({k: v for k, v in manifest.items() if k != SIGNATURE_KEY})


def sign(manifest: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """``manifest`` with a fresh ``signature`` member."""
    out = {k: v for k, v in manifest.items() if k != SIGNATURE_KEY}
    out[SIGNATURE_KEY] = signer.signature_block(signed_bytes(out))
    return out


def check(manifest: Mapping[str, Any], trusted: Ed25519PublicKey | None = None) -> list[str]:
    """Findings about the manifest's signature; empty when it is valid (or absent and no
    trusted key was given)."""
    block = manifest.get(SIGNATURE_KEY)
    if block is None:
        return ["manifest.json: not signed, but a public key was given"] if trusted is not None else []
    if not isinstance(block, Mapping) or block.get("algorithm") != ALGORITHM:
        return ["manifest.json: signature block is malformed or not ed25519"]
    try:
        raw = base64.b64decode(str(block["public_key"]), validate=True)
        value = base64.b64decode(str(block["value"]), validate=True)
        embedded = Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, ValueError):
        return ["manifest.json: signature block is malformed"]
    findings = []
    if block.get("key_fingerprint") != fingerprint(embedded):
        findings.append("manifest.json: key_fingerprint does not match the embedded public key")
    key = embedded
    if trusted is not None:
        if fingerprint(trusted) != fingerprint(embedded):
            findings.append(
                f"manifest.json: signed by key {fingerprint(embedded)}, not by the given key {fingerprint(trusted)}"
            )
        key = trusted
    try:
        key.verify(value, signed_bytes(manifest))
    except InvalidSignature:
        findings.append("manifest.json: signature does not verify (the manifest was rewritten after signing)")
    return findings


__all__ = [
    "ALGORITHM",
    "Signer",
    "SigningError",
    "check",
    "fingerprint",
    "generate_keypair",
    "load_public_key",
    "sign",
    "signed_bytes",
]
