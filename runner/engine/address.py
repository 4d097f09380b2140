"""`host:port` as configs and flags write it: parsed and checked, IPv6 in brackets.

Used by the configuration (listen addresses, inbound nodes) and the `eslflow run` flags;
errors are ValueErrors whose text a user can act on.
"""

from __future__ import annotations

import ipaddress
import re

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def check_host(text: str) -> str:
    """`text` as a host: an IP address (IPv6 with or without brackets) or a DNS name.

    Returns it without brackets; ValueError says what is wrong.
    """
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        return bare
    numeric = bare.replace(".", "").isdigit()  # 999.1.1.1 is a bad address, not a name
    if bare is text and len(text) <= 253 and not numeric and _HOSTNAME.fullmatch(text):
        return text
    raise ValueError(f"'{text}' is not a host name or IP address")


def parse_port(text: str, *, lowest: int = 1) -> int:
    """A TCP port from text; `lowest` is 0 for listeners (0 picks a free port)."""
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"port must be a number, got '{text}'")
    return check_port(int(text), lowest=lowest)


def check_port(port: int, *, lowest: int = 1) -> int:
    if not lowest <= port <= 65535:
        raise ValueError(f"port must be from {lowest} to 65535, got {port}")
    return port


def parse_address(text: str, *, example: str, lowest_port: int = 1) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:8084`) -> (host without brackets, port)."""
    shape = f"expected host:port like {example} (IPv6 in brackets: [::1]:{example.split(':')[-1]})"
    if text.startswith("["):
        end = text.find("]")
        if end == -1 or not text[end + 1 :].startswith(":"):
            raise ValueError(f"{shape}, got '{text}'")
        host, port_text = text[1:end], text[end + 2 :]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValueError(f"'[{host}]' is not an IPv6 address") from None
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon or not host or ":" in host:
            raise ValueError(f"{shape}, got '{text}'")
        host = check_host(host)
    return host, parse_port(port_text, lowest=lowest_port)


def format_address(host: str, port: int) -> str:
    """`host:port`, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
