"""The hash algorithms behind ARM's ``uniqueString()`` and ``guid()``, bit-exact with Azure.

Both functions join their string arguments with ``'-'`` and encode the result as UTF-8 the
way .NET's ``Encoding.UTF8`` does (an unpaired surrogate becomes U+FFFD).

* ``uniqueString``: a 64-bit MurmurHash variant (two 32-bit lanes over 8-byte blocks,
  seed 0), rendered as 13 characters of the alphabet ``a-z2-7`` by taking the hash's
  bits five at a time from the most significant end (the last character carries the
  final 4 bits followed by a zero bit).
* ``guid``: an RFC 4122 §4.3 name-based UUID, version 5 (SHA-1), in the fixed namespace
  ``11fb06fb-712d-4ddd-98c7-e71bbd588830``, printed in lowercase 8-4-4-4-12 form.

The same 64-bit hash is what ARM reports as a deployment's ``templateHash`` (as a decimal
string), hence :func:`murmur_hash64` is public.
"""

from __future__ import annotations

import hashlib

__all__ = [
    "GUID_NAMESPACE",
    "arm_guid",
    "dotnet_utf8",
    "encode_base32_13",
    "murmur_hash64",
    "unique_string",
]

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF

# Lane constants of the ARM hash (MurmurHash3 x86 style, with its own multipliers).
_C1 = 0x239B961B
_C2 = 0xAB0E9789
_ADD1 = 0x561CCD1B
_ADD2 = 0x0BCAA747
_FMIX1 = 0x85EBCA6B
_FMIX2 = 0xC2B2AE35

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"

# The namespace ARM's guid() derives its name-based UUIDs in (RFC 4122 byte order).
GUID_NAMESPACE = bytes.fromhex("11fb06fb712d4ddd98c7e71bbd588830")


def _rotl32(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK32


def _fmix32(value: int) -> int:
    """MurmurHash3's 32-bit finalizer (avalanche)."""
    value ^= value >> 16
    value = (value * _FMIX1) & _MASK32
    value ^= value >> 13
    value = (value * _FMIX2) & _MASK32
    return value ^ (value >> 16)


def _mix_k1(k1: int) -> int:
    k1 = (k1 * _C1) & _MASK32
    k1 = _rotl32(k1, 15)
    return (k1 * _C2) & _MASK32


def _mix_k2(k2: int) -> int:
    k2 = (k2 * _C2) & _MASK32
    k2 = _rotl32(k2, 17)
    return (k2 * _C1) & _MASK32


def murmur_hash64(data: bytes, seed: int = 0) -> int:
    """ARM's 64-bit MurmurHash variant of ``data``; the result is ``(h2 << 32) | h1``.

    Two 32-bit lanes consume 8 bytes per round (each half read little-endian); a 1-7 byte
    tail feeds lane 1 with its first four bytes and lane 2 with the rest.
    """
    h1 = h2 = seed & _MASK32
    length = len(data)
    full = length - length % 8
    for i in range(0, full, 8):
        h1 ^= _mix_k1(int.from_bytes(data[i : i + 4], "little"))
        h1 = _rotl32(h1, 19)
        h1 = (h1 + h2) & _MASK32
        h1 = (h1 * 5 + _ADD1) & _MASK32

        h2 ^= _mix_k2(int.from_bytes(data[i + 4 : i + 8], "little"))
        h2 = _rotl32(h2, 13)
        h2 = (h2 + h1) & _MASK32
        h2 = (h2 * 5 + _ADD2) & _MASK32

    tail = data[full:]
    if tail:
        h1 ^= _mix_k1(int.from_bytes(tail[:4], "little"))
        if len(tail) > 4:
            h2 ^= _mix_k2(int.from_bytes(tail[4:], "little"))

    h1 ^= length & _MASK32
    h2 ^= length & _MASK32
    h1 = (h1 + h2) & _MASK32
    h2 = (h2 + h1) & _MASK32
    h1 = _fmix32(h1)
    h2 = _fmix32(h2)
    h1 = (h1 + h2) & _MASK32
    h2 = (h2 + h1) & _MASK32
    return (h2 << 32) | h1


def encode_base32_13(value: int) -> str:
    """The 13-character ``a-z2-7`` rendering of a 64-bit value, most significant bits first."""
    value &= _MASK64
    chars = []
    for _ in range(13):
        chars.append(_ALPHABET[value >> 59])
        value = (value << 5) & _MASK64
    return "".join(chars)


def dotnet_utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text`` as .NET's ``Encoding.UTF8`` produces them.

    Python strings may hold unpaired surrogates (JSON ``"\\ud800"``); .NET replaces each
    with U+FFFD rather than failing, and joins a split surrogate pair into one character.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        utf16 = text.encode("utf-16-le", "surrogatepass")
        return utf16.decode("utf-16-le", "replace").encode("utf-8")


def unique_string(*values: str) -> str:
    """``uniqueString(values...)``: 13 characters hashed from the values joined by ``'-'``."""
    return encode_base32_13(murmur_hash64(dotnet_utf8("-".join(values))))


def arm_guid(*values: str) -> str:
    """``guid(values...)``: the version-5 UUID of the values joined by ``'-'``."""
    digest = bytearray(hashlib.sha1(GUID_NAMESPACE + dotnet_utf8("-".join(values))).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
