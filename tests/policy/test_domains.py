"""Registrable domains from the bundled public suffix list, and the fallbacks."""

from __future__ import annotations

import pytest

from crawler.policy.domains import is_public_suffix, normalize_host, registrable_domain


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        # on the bundled public suffix list
        ("www.example.com", "example.com"),
        ("example.com", "example.com"),
        ("a.b.c.example.com", "example.com"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("bbc.co.uk", "bbc.co.uk"),
        ("co.uk", "co.uk"),  # a public suffix itself
        # normalisation: case, trailing dot, port
        ("WWW.Example.COM", "example.com"),
        ("www.example.com.", "example.com"),
        ("www.example.com:8080", "example.com"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        # fallbacks: unknown suffix -> last two labels
        ("a.open.test", "open.test"),
        ("x.y.a.open.test", "open.test"),
        ("open.test", "open.test"),
        ("registry-listed.test:8443", "registry-listed.test"),
        ("api.localhost", "api.localhost"),
        ("a.b.corp.internal", "corp.internal"),
        # IP literals -> themselves
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("::1", "::1"),
        ("[::1]:8080", "::1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        # single label -> itself
        ("localhost", "localhost"),
        ("localhost:8080", "localhost"),
        ("LOCALHOST.", "localhost"),
        ("", ""),
    ],
)
def test_registrable_domain(host, expected):
    assert registrable_domain(host) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("WWW.Label.Test.", "www.label.test"),
        ("www.label.test:8080", "www.label.test"),
        ("[::1]", "::1"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_normalize_host(host, expected):
    assert normalize_host(host) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [("co.uk", True), ("com", True), ("bbc.co.uk", False), ("open.test", False), ("127.0.0.1", False)],
)
def test_is_public_suffix(host, expected):
    assert is_public_suffix(host) is expected
