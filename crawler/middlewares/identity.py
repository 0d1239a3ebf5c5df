"""Who is asking: an honest User-Agent (and ``From``) on every request heed sends.

Site owners decide what to allow by the product token they see in their logs, and need a
way to reach whoever runs the crawler. So every request — content and policy files alike —
carries

* ``User-Agent: <POLICY_AGENT_TOKEN>/<heed version> (+<IDENTITY_CONTACT_URL>)``: the same
  token robots.txt groups are matched against, heed's version, and the contact page;
* ``From: <IDENTITY_FROM>`` when an e-mail address is configured (RFC 9110 §10.1.2).

The header is set, not defaulted: a spider cannot send requests under another name.
``USER_AGENT`` may replace the built string, but it must still start with a product token
and a version and carry a ``+http(s)://`` contact URL.

The default contact URL is a placeholder on a reserved domain (``example.invalid``). A crawl
refuses to start with a placeholder contact — any URL or e-mail on a name reserved for
examples and tests (RFC 2606, RFC 6761: ``.example``, ``.invalid``, ``.test``,
``.localhost``, ``example.com``/``.net``/``.org``; and mDNS ``.local``) — unless ``IDENTITY_ALLOW_PLACEHOLDER``
is set, which only the loopback demo and the test suite do.

Replaces Scrapy's ``UserAgentMiddleware`` (set to None in ``DOWNLOADER_MIDDLEWARES``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from crawler import __version__
from crawler.config import get_policy_config

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Top-level names and registered domains reserved for documentation and tests.
_RESERVED_TLDS: Final = frozenset({"example", "invalid", "test", "localhost", "local"})
_RESERVED_DOMAINS: Final = frozenset({"example.com", "example.net", "example.org"})
_PRODUCT: Final = re.compile(r"([A-Za-z0-9_-]+)/(\S+)")
_CONTACT: Final = re.compile(r"\+(https?://[^\s;)]+)")
_EMAIL: Final = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class IdentityError(ValueError):
    """An identity setting heed will not crawl with; the message names the setting."""


def is_placeholder_host(host: str) -> bool:
    """True for host names reserved for examples and tests (never a real contact)."""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if labels[-1] in _RESERVED_TLDS:
        return True
    return ".".join(labels[-2:]) in _RESERVED_DOMAINS


def _contact_url(name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise IdentityError(f"{name} must not contain control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IdentityError(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """The headers every request carries, validated once."""

    user_agent: str
    from_address: str | None
    #: True when the contact (URL or e-mail) is a placeholder the settings allow
    placeholder: bool

    @classmethod
    def from_settings(cls, settings: Any, *, token: str) -> IdentityConfig:
        allow_placeholder = settings.getbool("IDENTITY_ALLOW_PLACEHOLDER")
        explicit = (settings.get("USER_AGENT") or "").strip()
        if explicit:
            if _CONTROL.search(explicit):
                raise IdentityError("USER_AGENT must not contain control characters")
            product = _PRODUCT.match(explicit)
            contact = _CONTACT.search(explicit)
            if product is None or contact is None:
                raise IdentityError(
                    f"USER_AGENT must start with <product token>/<version> and carry a "
                    f"(+https://...) contact URL, got {explicit!r}; or leave it empty and set "
                    "IDENTITY_CONTACT_URL"
                )
            if product[1].lower() != token.lower():
                logger.warning(
                    "USER_AGENT names %(ua)s but robots.txt groups are matched for %(token)s "
                    "(POLICY_AGENT_TOKEN): site owners cannot address the name they see",
                    {"ua": product[1], "token": token},
                )
            user_agent, contact_name, contact_url = explicit, "USER_AGENT", contact[1]
        else:
            contact_url = _contact_url("IDENTITY_CONTACT_URL", str(settings.get("IDENTITY_CONTACT_URL") or ""))
            user_agent = f"{token}/{__version__} (+{contact_url})"
            contact_name = "IDENTITY_CONTACT_URL"
        if not user_agent.isascii():
            raise IdentityError(f"{contact_name}: only ASCII is allowed in a header (use punycode / %-escapes)")
        placeholder = is_placeholder_host(urlsplit(contact_url).hostname or "")
        if placeholder and not allow_placeholder:
            raise IdentityError(
                f"{contact_name}: {contact_url} is a placeholder; set IDENTITY_CONTACT_URL to a page "
                "where site owners can reach you before crawling real sites "
                "(IDENTITY_ALLOW_PLACEHOLDER is for the loopback demo and tests only)"
            )
        from_address = str(settings.get("IDENTITY_FROM") or "").strip() or None
        if from_address is not None:
            found = _EMAIL.fullmatch(from_address) if from_address.isascii() else None
            if found is None:
                raise IdentityError(f"IDENTITY_FROM must be one e-mail address, got {from_address!r}")
            if is_placeholder_host(found[1]):
                if not allow_placeholder:
                    raise IdentityError(
                        f"IDENTITY_FROM: {from_address} is a placeholder address; give a mailbox "
                        "site owners can write to, or leave it empty"
                    )
                placeholder = True
        return cls(user_agent=user_agent, from_address=from_address, placeholder=placeholder)


class IdentityMiddleware:
    """Downloader middleware; see the module docstring."""

    def __init__(self, config: IdentityConfig) -> None:
        self.config = config
        self._user_agent = config.user_agent.encode("ascii")
        self._from = None if config.from_address is None else config.from_address.encode("ascii")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = IdentityConfig.from_settings(crawler.settings, token=get_policy_config(crawler).agent_token)
        mw = cls(config)
        if config.placeholder:
            logger.warning(
                "Crawling with a placeholder contact (%(ua)s): for the loopback demo and tests only",
                {"ua": config.user_agent},
            )
        return mw

    def process_request(self, request: Request) -> None:
        headers = request.headers
        headers[b"User-Agent"] = self._user_agent
        if self._from is not None:
            headers[b"From"] = self._from


__all__ = ["IdentityConfig", "IdentityError", "IdentityMiddleware", "is_placeholder_host"]
