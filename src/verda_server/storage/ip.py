"""An address as the integer it is, beside its text: the text sorts 100.64.0.10
before 100.64.0.9, the integer finds a pool's lowest free address by index."""

from __future__ import annotations

from ipaddress import AddressValueError, IPv4Address


def ip_number(ip: str | None) -> int | None:
    """None for no address, and for text that is no IPv4 address (no pool's
    address has that text, so it can never clash with one)."""
    if ip is None:
        return None
    try:
        return int(IPv4Address(ip))
    except AddressValueError:
        return None
