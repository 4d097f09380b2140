"""Who may connect: mod_event_socket's ``apply-inbound-acl`` as a list of networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# FreeSWITCH's loopback.auto: the loopback networks.
LOOPBACK = ("127.0.0.0/8", "::1/128")


class Acl:
    """Allowed CIDRs; a peer outside every one gets ``text/rude-rejection``."""

    def __init__(self, cidrs: Iterable[str] = LOOPBACK) -> None:
        self.networks: list[Network] = []
        for cidr in cidrs:
            try:
                self.networks.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise ValueError(
                    f"invalid ACL entry {cidr!r}: expected an address or CIDR"
                ) from None

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks if net.version == ip.version)
