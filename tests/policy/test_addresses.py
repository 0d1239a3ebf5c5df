"""Which addresses the network guard refuses."""

from __future__ import annotations

import pytest

from crawler.policy.addresses import parse_ip, refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::1", "loopback"),
        ("[::1]", "loopback"),
        ("not-an-address", "unparsable-address"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
        ("::ffff:93.184.215.14", None),
    ],
)
def test_refusal(address, reason):
    assert refusal(address) == reason


@pytest.mark.parametrize(
    ("host", "is_ip"),
    [("127.0.0.1", True), ("[::1]", True), ("fe80::1%eth0", True), ("open.test", False), ("1.2.3", False)],
)
def test_parse_ip(host, is_ip):
    assert (parse_ip(host) is not None) == is_ip
