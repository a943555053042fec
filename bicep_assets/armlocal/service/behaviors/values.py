"""Deterministic stand-ins for the values a cloud service generates (GUIDs, keys, addresses).

Every value is a pure function of a *purpose* (what the value is: ``"principalId"``,
``"storage-key1"`` …) and the resource id it belongs to, lower-cased because ARM ids are
case-insensitive. Deploying the same resource again therefore yields the same identifiers and
keys (what-if reports ``NoChange``), while two resources never share them. Nothing here is
random, and nothing is a secret: these are emulator values, not credentials.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

__all__ = [
    "documentation_ips",
    "stable_bytes",
    "stable_guid",
    "stable_hex",
    "stable_key",
]

# The namespace of the local ARM's name-based UUIDs (distinct from ARM's guid() namespace, so
# a template's guid() never collides with an identifier the emulated services hand out).
_NAMESPACE = uuid.UUID("5d0c6c7e-2f5a-4d53-9a0e-6c6f63616c41")

# RFC 5737 documentation ranges: addresses that can never reach a real host.
DOCUMENTATION_RANGES = ("192.0.2", "198.51.100", "203.0.113")


def _seed(purpose: str, key: str) -> bytes:
    return f"armlocal\x1f{purpose}\x1f{key.lower()}".encode()


def stable_bytes(purpose: str, key: str, length: int) -> bytes:
    """``length`` pseudo-random bytes determined by ``purpose`` and ``key`` (SHAKE-256)."""
    return hashlib.shake_256(_seed(purpose, key)).digest(length)


def stable_guid(purpose: str, key: str) -> str:
    """A lower-case GUID (RFC 4122 version 5) for ``purpose`` of ``key``."""
    return str(uuid.uuid5(_NAMESPACE, _seed(purpose, key).decode()))


def stable_key(purpose: str, key: str, length: int = 64) -> str:
    """A base64 access key of ``length`` bytes (64 bytes → 88 characters, like storage keys)."""
    return base64.b64encode(stable_bytes(purpose, key, length)).decode("ascii")


def stable_hex(purpose: str, key: str, chars: int = 32) -> str:
    """``chars`` lower-case hexadecimal digits (a Key Vault version id has 32)."""
    return stable_bytes(purpose, key, (chars + 1) // 2).hex()[:chars]


def documentation_ips(purpose: str, key: str, count: int = 1, block: int = 2) -> list[str]:
    """``count`` (at most 254) distinct IPv4 addresses in RFC 5737 documentation block
    ``block`` (0-2): consecutive host numbers (1-254, wrapping) from a stable start."""
    start = int.from_bytes(stable_bytes(purpose, key, 2), "big") % 254
    return [f"{DOCUMENTATION_RANGES[block]}.{(start + i) % 254 + 1}" for i in range(count)]
