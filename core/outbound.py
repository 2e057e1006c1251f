"""Where SAM Hub may send requests that someone outside gave it the address of (callback URIs
of NWDAF, ProvMnS and AIMLE subscribers): http or https only, and never to this machine or a
private network unless SAMHUB_CALLBACK_ALLOWED_NETWORKS allows that network. The name is
resolved once per connection and the connection goes to an address that was checked, so a
name that resolves elsewhere on the next lookup (DNS rebinding) reaches nothing new.
"""

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import DomainError

SCHEMES = ("http", "https")


class OutboundRefused(Exception):
    """The URL may not be called; the message says why."""


@lru_cache(maxsize=8)
def _allowed_networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def outbound_addresses(url: str) -> list[tuple]:
    """The socket addresses `url` may be called at ((family, sockaddr) per address), or
    OutboundRefused: not http(s), no host, a host that does not resolve, or one that resolves
    to a loopback, private, link-local or reserved address outside the allowed networks."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise OutboundRefused(f"Use an http or https URI, not {parts.scheme or 'none'!r}.")
    if not parts.hostname:
        raise OutboundRefused("The URI has no host.")
    if parts.username or parts.password:
        raise OutboundRefused("The URI may not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused("The URI's port is not a number from 1 to 65535.") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundRefused(f"The host {parts.hostname!r} does not resolve.") from None
    allowed = _allowed_networks(tuple(settings.SAMHUB_CALLBACK_ALLOWED_NETWORKS))
    addresses = []
    for family, _, _, _, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not _public(address) and not any(address in network for network in allowed):
            raise OutboundRefused(
                f"The host {parts.hostname!r} resolves to {address}, a loopback, private or "
                "reserved address, which SAM Hub does not call (SAMHUB_CALLBACK_ALLOWED_NETWORKS "
                "lists the networks an operator allows)."
            )
        addresses.append((family, sockaddr))
    return addresses


def callback_uri_check(url: str, *, param: str) -> None:
    """Refuse a callback URI given in a request with a 400 naming the field `param`."""
    try:
        outbound_addresses(url)
    except OutboundRefused as exc:
        raise DomainError(
            f"{param}: {exc}", code="MANDATORY_IE_INCORRECT", details={param: [str(exc)]}
        ) from None


def connect_checked(addresses: list[tuple], timeout: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    last_error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError("no address to connect to")
