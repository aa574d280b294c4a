"""Outgoing HTTP to addresses that diagrams and subscriptions name: the address guard.

Webhooks and service tasks call URLs that users wrote. Without a guard they reach the
machine's own services, the private network and the cloud metadata endpoint (SSRF), and
put what they read into variables. So every outgoing call:

* resolves the host once and refuses when ANY address it resolves to is loopback, private,
  link-local, CGNAT, reserved, multicast, unspecified or a metadata address, including
  IPv4-mapped/compatible IPv6 and NAT64 forms of them; decimal, octal and hex spellings
  of an IPv4 address resolve to the address itself and are judged as such;
* connects to the address it checked (no second lookup that DNS rebinding could change),
  with TLS verified against the host name;
* never follows a redirect;
* lets through only the networks an administrator allow-listed in settings.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from dataclasses import dataclass

METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeAddress(ValueError):
    """The URL is not http(s), or resolves to an address outgoing calls may not reach."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64 or (int(address) >> 32 == 0 and int(address) > 1):  # NAT64, IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and is_internal(embedded):
            return True
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or address in CGNAT
        or address in METADATA_ADDRESSES
    )


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked address to connect to
    path: str  # path and query


def resolve_safely(url: str, allowed_networks: list[str] | tuple[str, ...] = (), *, setting: str = "") -> Target:
    """Resolve ``url`` once and check every address; raise UnsafeAddress naming the reason."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress(f"Not an http(s) URL: {url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeAddress(f"Bad port in {url}") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeAddress(f"Cannot resolve {parts.hostname}: {exc}") from exc
    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    for address in addresses:
        if any(address in network for network in allowed):
            continue
        if is_internal(address):
            hint = f" ({setting} allows it)" if setting else ""
            raise UnsafeAddress(
                f"{parts.hostname} resolves to {address}, a private or internal address that may not be called{hint}"
            )
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, str(addresses[0]), path)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, with SNI and certificate checks against the host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class ResponseTooLarge(OSError):
    pass


def request(
    target: Target,
    method: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float,
    max_bytes: int,
    truncate: bool = False,
) -> Response:
    """One HTTP exchange with a checked target; redirects are returned, never followed.

    Raises OSError (and its subclasses) when the host cannot be reached or the answer is
    larger than ``max_bytes`` (unless ``truncate``: then only its start is read)."""
    factory = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = factory(target.host, target.address, target.port, timeout)
    try:
        conn.request(method, target.path, body=body, headers=headers or {})
        answer = conn.getresponse()
        raw = answer.read(max_bytes + 1)
        if len(raw) > max_bytes and not truncate:
            raise ResponseTooLarge(f"The response from {target.host} is larger than {max_bytes:,} bytes")
        return Response(answer.status, dict(answer.getheaders()), raw[:max_bytes])
    except http.client.HTTPException as exc:
        raise OSError(f"Bad HTTP answer from {target.host}: {exc}") from exc
    finally:
        conn.close()
