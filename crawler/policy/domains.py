"""Host names and registrable domains.

Registry entries of scope ``domain`` cover a registrable domain and all its subdomains, and
other parts of heed group hosts by the domain that owns them. The public suffix list decides
where a registrable domain starts (``bbc.co.uk``, not ``co.uk``). heed only ever uses the copy
bundled with tldextract: a crawl must not depend on, or leak requests to, a download at start
up, and two runs with the same installed packages must group hosts the same way.

Hosts under a suffix the list does not know (the reserved ``.test`` TLD used by the demo and
the tests, ``localhost``, intranet names) fall back to their last two labels.
"""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from typing import Final

import tldextract

logger = logging.getLogger(__name__)

#: Bundled suffix list only: no download, no disk cache.
_EXTRACT: Final = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _strip_port(host: str) -> str:
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host[1:]
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        if port.isdigit() or not port:
            return name
    return host


@lru_cache(maxsize=65536)
def normalize_host(host: str) -> str:
    """A host as heed compares it: lower-case, no port, no trailing dot, IDNA (ASCII) form.

    IPv6 literals lose their brackets; IP literals come back in their canonical form.
    Names that cannot be IDNA-encoded are kept lower-cased as they are.
    """
    name = _strip_port(host.strip()).rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            logger.debug("host %r is not IDNA-encodable; compared as written", host)
    return name


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_public_suffix(host: str) -> bool:
    """True for a host that is itself on the bundled public suffix list (``co.uk``, ``com``)."""
    name = normalize_host(host)
    if not name or is_ip(name):
        return False
    parts = _EXTRACT(name)
    return bool(parts.suffix) and not parts.domain


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The registrable domain ("eTLD+1") of a host, e.g. ``www.bbc.co.uk`` → ``bbc.co.uk``.

    Fallbacks: a suffix the bundled list does not know → the last two labels
    (``a.open.test`` → ``open.test``); an IP literal or a single label → itself; a host that
    is itself a public suffix (``co.uk``) → itself.
    """
    name = normalize_host(host)
    if not name or is_ip(name) or "." not in name:
        return name
    parts = _EXTRACT(name)
    if not parts.suffix:
        return ".".join(name.split(".")[-2:])
    if not parts.domain:
        return name
    return f"{parts.domain}.{parts.suffix}"


__all__ = ["is_ip", "is_public_suffix", "normalize_host", "registrable_domain"]
