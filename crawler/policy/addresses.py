"""Which IP addresses a crawler may connect to.

heed follows links and redirects chosen by strangers. Without a guard, a page could point it
at ``http://127.0.0.1:6379/``, a cloud metadata endpoint (169.254.169.254) or a printer on
the operator's LAN. Only globally routable unicast addresses pass; IPv4-mapped and
IPv4-compatible IPv6 forms are judged as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(host: str) -> Address | None:
    """The address when ``host`` is an IP literal (brackets allowed), else None."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # zone index of a link-local IPv6 literal
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def refusal(address: str) -> str | None:
    """Why heed must not connect to ``address`` (a reason detail), or None if it may.

    An unparsable address is refused: the guard fails closed.
    """
    ip = parse_ip(address)
    if ip is None:
        return "unparsable-address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.packed[:12] == bytes(12) and int(ip) > 1:
            embedded = ipaddress.IPv4Address(ip.packed[12:])  # deprecated IPv4-compatible form
        if embedded is not None:
            return refusal(str(embedded))
    for attr, reason in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(ip, attr):
            return reason
    if not ip.is_global:
        return "non-global"
    return None


__all__ = ["parse_ip", "refusal"]
