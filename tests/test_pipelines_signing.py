"""Ed25519 manifest signatures, key files, and the verify progress bar."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pipelines.manifest import dump
from pipelines.progress import Progress
from pipelines.signing import Signer, SigningError, check, fingerprint, generate_keypair, load_public_key, sign

MANIFEST: dict[str, Any] = {"format": "heed-run-manifest/1", "run_id": "r1", "workers": {"w1": {"files": []}}}


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Signer, Any, Path]:
    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    return Signer.from_file(tmp_path / "k"), load_public_key(tmp_path / "k.pub"), tmp_path


def test_a_signed_manifest_checks_with_and_without_the_trusted_key(keys: tuple[Signer, Any, Path]) -> None:
    signer, public, _ = keys
    signed = sign(MANIFEST, signer)
    assert signed["signature"]["key_fingerprint"] == signer.fingerprint == fingerprint(public)
    assert check(signed) == [] and check(signed, public) == []
    assert check(MANIFEST) == []  # unsigned and no key asked for: nothing to say
    assert check(MANIFEST, public) == ["manifest.json: not signed, but a public key was given"]


def test_any_change_breaks_the_signature(keys: tuple[Signer, Any, Path]) -> None:
    signer, public, _ = keys
    signed = sign(MANIFEST, signer)
    changed = {**signed, "run_id": "r2"}
    assert check(changed, public) == ["manifest.json: signature does not verify (the manifest was rewritten after signing)"]
    resigned = sign(changed, signer)
    assert check(resigned, public) == []
    assert dump(resigned) != dump(signed)


def test_a_foreign_key_and_a_malformed_block_are_named(keys: tuple[Signer, Any, Path], tmp_path: Path) -> None:
    _signer, public, base = keys
    generate_keypair(base / "other", base / "other.pub")
    foreign = sign(MANIFEST, Signer.from_file(base / "other"))
    assert check(foreign) == []
    findings = check(foreign, public)
    assert any("not by the given key" in f for f in findings)
    broken = {**foreign, "signature": {**foreign["signature"], "key_fingerprint": "sha256:00"}}
    assert check(broken) == ["manifest.json: key_fingerprint does not match the embedded public key"]
    assert check({**MANIFEST, "signature": {"algorithm": "rsa"}}) == [
        "manifest.json: signature block is malformed or not ed25519"]
    assert check({**MANIFEST, "signature": {"algorithm": "ed25519", "public_key": "!!", "value": "x"}}) == [
        "manifest.json: signature block is malformed"]


def test_key_files_are_checked(tmp_path: Path) -> None:
    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    with pytest.raises(SigningError, match="already exists"):
        generate_keypair(tmp_path / "k", tmp_path / "k2.pub")
    with pytest.raises(SigningError, match="cannot read"):
        Signer.from_file(tmp_path / "missing")
    with pytest.raises(SigningError, match="not an unencrypted PEM private key"):
        Signer.from_file(tmp_path / "k.pub")
    with pytest.raises(SigningError, match="not a PEM public key"):
        load_public_key(tmp_path / "k")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(SigningError, match="not an Ed25519 key"):
        Signer.from_file(tmp_path / "ec.pem")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    bar = Progress("verify: hashing", 100, stream=quiet)
    bar.update(50)
    bar.done()
    assert quiet.getvalue() == ""
    tty = _Tty()
    bar = Progress("verify: rows", 1000, stream=tty, unit="rows", interval=0)
    bar.update(500)
    bar.done()
    out = tty.getvalue()
    assert out.startswith("\rverify: rows  50% [############------------] 500/1,000 rows") and out.endswith("\n")
