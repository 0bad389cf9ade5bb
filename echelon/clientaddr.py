"""The client's address: the ONE function every rate limit, throttle and lock keys on.

`client_address(request)` answers the address of the machine that sent the request to us or to
a proxy we trust (docs/security.md, trusted proxies):

- No trusted proxies (the default): `REMOTE_ADDR`, the peer of the TCP connection. Any
  `X-Forwarded-For` is ignored, since whoever connects can write it.
- `ECHELON_TRUSTED_PROXIES` lists addresses or networks (`10.0.0.0/8`, `127.0.0.1`, `::1`): when
  the peer is one of them, `X-Forwarded-For` is read from the right (each proxy appends the
  address it received the request from) and the first hop that is not a trusted proxy is the
  client. Hops further left were written by that client and are never believed.
- A hop that is not an IP address ends the walk: the last trusted address seen is answered
  (garbage written by a proxy cannot name anyone else).

`request` is a Django `HttpRequest`, DRF's `Request` (both have `.META`), or an ASGI scope
(`scope_client_address`), so the websocket, the login forms and the API agree on who a client is.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

UNKNOWN = "unknown"  # no peer at all (a test client without REMOTE_ADDR, a Unix socket)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """The setting's entries as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def trusted_networks() -> tuple[Network, ...]:
    """ECHELON_TRUSTED_PROXIES, parsed (cached per value, so an override in a test applies)."""
    return _networks(tuple(getattr(settings, "ECHELON_TRUSTED_PROXIES", ())))


def _parse(value: str):
    """An address from a header hop or REMOTE_ADDR (`[::1]:443`, `1.2.3.4:80` allowed), or None."""
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is the same client.
    return getattr(address, "ipv4_mapped", None) or address


def _is_trusted(address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks if network.version == address.version)


def resolve(peer: str, forwarded_for: str) -> str:
    """The client address from the connection's peer and the X-Forwarded-For header's value."""
    peer_address = _parse(peer or "")
    if peer_address is None:
        return (peer or "").strip()[:64] or UNKNOWN
    networks = trusted_networks()
    if not networks or not _is_trusted(peer_address, networks):
        return str(peer_address)
    nearest = peer_address
    for hop in reversed([part for part in (forwarded_for or "").split(",") if part.strip()]):
        address = _parse(hop)
        if address is None:
            break
        if not _is_trusted(address, networks):
            return str(address)
        nearest = address
    return str(nearest)


def client_address(request) -> str:
    """The address of the client of a Django or DRF request (see the module docstring)."""
    meta = request.META
    return resolve(meta.get("REMOTE_ADDR", ""), meta.get("HTTP_X_FORWARDED_FOR", ""))


def scope_client_address(scope) -> str:
    """The same for an ASGI scope (websockets): its `client` and its X-Forwarded-For header."""
    client = scope.get("client") or ("", 0)
    forwarded = b",".join(value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for")
    return resolve(str(client[0] or ""), forwarded.decode("latin-1"))
