"""The form of an OpenSSH public key line, as one regular expression.

`<type> <base64 blob> [comment]`: a known type, a blob that decodes and begins
with that same type name (as the SSH wire format writes it), then an optional
comment on the same line. The rest of the blob is not checked: callers of the Go
SDK register placeholder keys whose structure is cut short, and the live service
takes them. The padding may be left off, and unused trailing bits are ignored:
the Go SDK's own placeholder key is unpadded. Being a pattern, the rule is both
what the document shows and what is checked.

Certificates (`*-cert-v01@openssh.com`) are refused: they are not keys that an
instance's authorized_keys can hold (sshd trusts them through a CA key marked
`cert-authority`), and the live documentation names only plain key types.
"""

from __future__ import annotations

import base64
import struct

from verda_server.api.patterns import explained
from verda_server.validation import WHITESPACE, char_class

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
MAX_KEY_LENGTH = 16 * 1024

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64 = "[A-Za-z0-9+/]"
# Whatever follows a decoded prefix: whole quanta, then a last one of two or
# three characters, padded or not.
_REST = f"(?:{_B64}{{4}})*(?:{_B64}{{2}}(?:==)?|{_B64}{{3}}=?)?"


def _one_of(indices: range) -> str:
    return "[" + "".join(_ALPHABET[i] for i in indices) + "]"


def blob_starting_with(prefix: bytes) -> str:
    """A regex for padded base64 text whose decoding begins with `prefix`."""
    whole = len(prefix) // 3 * 3
    fixed = base64.b64encode(prefix[:whole]).decode()
    tail = prefix[whole:]
    if not tail:
        return fixed + _REST
    first = tail[0]
    if len(tail) == 1:
        # Two characters hold the byte; the second's low 4 bits belong to what follows.
        low = (first & 0x03) << 4
        return (
            fixed
            + _ALPHABET[first >> 2]
            + _one_of(range(low, low + 16))
            + f"(?:==|{_B64}=?|{_B64}{{2}}{_REST})?"
        )
    second = tail[1]
    low = (second & 0x0F) << 2
    return (
        fixed
        + _ALPHABET[first >> 2]
        + _ALPHABET[((first & 0x03) << 4) | (second >> 4)]
        + _one_of(range(low, low + 4))
        + f"(?:=|{_B64}{_REST})?"
    )


def _key(key_type: str) -> str:
    name = key_type.encode()
    return (
        key_type.replace(".", "\\.")
        + "[ \\t]+"
        + blob_starting_with(struct.pack(">I", len(name)) + name)
    )


_SPACE = char_class(WHITESPACE)
# What Python's str.splitlines() breaks at, and NUL: a comment stays on its line.
_LINE_BREAKS = char_class("\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029\x00")
KEY_PATTERN = explained(
    f"^[{_SPACE}]*(?:{'|'.join(_key(t) for t in KEY_TYPES)})"
    f"(?:[ \\t]+[^{_LINE_BREAKS}]*)?[{_SPACE}]*$",
    "not an OpenSSH public key: expected one line '<type> <base64> [comment]' "
    f"(e.g. 'ssh-ed25519 AAAA… me@host'; types: {', '.join(KEY_TYPES)}) "
    "whose base64 blob decodes and names the same type",
)
