"""What a customer's list of sessions shows of each: the device (the User-Agent made
short: browser and system) and the coarse place (the IP address without its last part,
which is all that is kept of it there)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv6Address, ip_address
from uuid import UUID

LABEL_MAX_LENGTH = 60

# First match wins: Edge and Opera also name Chrome, Chrome also names Safari.
_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/\d")),
    ("Opera", re.compile(r"\b(?:OPR|Opera)/\d")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/\d")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/\d")),
    ("Chrome", re.compile(r"\b(?:HeadlessChrome|Chrome|CriOS|Chromium)/\d")),
    ("Safari", re.compile(r"\bVersion/\d[\d.]*(?: Mobile/\S+)? Safari/")),
)
# iPhone and iPad before macOS (their agents say "like Mac OS X"), Android before Linux.
_SYSTEMS = (
    ("iPhone", re.compile(r"\biPhone\b")),
    ("iPad", re.compile(r"\biPad\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b")),
)


def device_label(user_agent: str) -> str:
    """'Firefox (Windows)', 'Safari (iPhone)'; an agent we do not know shortened as it is;
    '' when there was none."""
    agent = " ".join(user_agent.split())
    browser = next((name for name, pattern in _BROWSERS if pattern.search(agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(agent)), None)
    if browser and system:
        return f"{browser} ({system})"
    if browser or system:
        return str(browser or system)
    if len(agent) <= LABEL_MAX_LENGTH:
        return agent
    return agent[: LABEL_MAX_LENGTH - 1].rstrip() + "…"


def coarse_place(address: str) -> str:
    """'203.0.113.*' (IPv4 without the last octet), '2001:db8:85a3:*' (IPv6: the first 48
    bits, what a provider assigns a site); '' for anything that is not an address."""
    try:
        ip = ip_address(address)
    except ValueError:
        return ""
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, IPv6Address):
        return ":".join(f"{int(part, 16):x}" for part in ip.exploded.split(":")[:3]) + ":*"
    return ".".join(str(ip).split(".")[:3]) + ".*"


@dataclass(frozen=True, slots=True)
class StoredSession:
    """An open session as kept: the full User-Agent, the coarse place."""

    id: UUID
    user_agent: str
    place: str
    created_at: datetime
    last_used_at: datetime
