"""The address guard: a feed must not make storydesk reach the machine or the network it runs in.

Checked where it cannot be dodged: on the address a connection is actually made to. The network
backend below resolves the host itself, refuses private, loopback, link-local (and other non-public)
addresses unless ``fetch.allow_private`` is on, and connects to the address it checked, so a DNS
answer that changes between a check and the connection (rebinding) changes nothing. Every redirect
hop opens its own connection and is checked the same way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore

from storydesk.errors import FetchRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# httpcore's socket option shape (httpcore._backends.base.SOCKET_OPTION, not exported)
SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which resolved addresses may be connected to."""

    allow_private: bool = False
    allow_hosts: frozenset[str] = frozenset()  # "host:port" named in the URL, exempt from the check

    def why_refused(self, address: str) -> str | None:
        """Why a connection to ``address`` is refused, or None when it is allowed."""
        if self.allow_private:
            return None
        try:
            ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{address} is not an IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        kind = _kind(ip)
        if kind is None:
            return None
        return f"{address} is a {kind} address (set fetch.allow_private=true to fetch it)"

    def exempt(self, host: str, port: int) -> bool:
        return f"{host.lower()}:{port}" in self.allow_hosts


def _kind(ip: Address) -> str | None:
    """The kind of non-public address ``ip`` is, or None for a public one."""
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private:
        return "private"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IP literals resolve to themselves)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        if not self.policy.exempt(host, port):
            # One refused address refuses the host: which one a later lookup returns is not ours to pick.
            for address in addresses:
                why = self.policy.why_refused(address)
                if why is not None:
                    raise FetchRefused(f"http://{host}:{port}/", f"refused: {host} resolves to {why}")
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"cannot connect to {host}:{port}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise FetchRefused(path, "refused: unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
