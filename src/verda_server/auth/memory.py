"""Let the memory of a burst of secret checks go back to the system.

Each scrypt check allocates one 16 MiB block. glibc serves blocks that large
with mmap at first, but raises its mmap threshold after the first one is freed
(up to 32 MiB), so later blocks come from the heap of whichever thread's arena
ran the check and stay there once freed: a flood of grants left the process
hundreds of MiB larger for good. Fixing the threshold keeps every large block
mmapped, so it is unmapped the moment the check ends.
"""

from __future__ import annotations

import ctypes
import os

_M_MMAP_THRESHOLD = -3
# Above every ordinary allocation of the server, below a scrypt block.
MMAP_THRESHOLD = 1024 * 1024


def _glibc() -> ctypes.CDLL | None:
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (AttributeError, ValueError, OSError):
        return None  # not glibc (macOS, musl, Windows)
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def map_large_blocks() -> bool:
    """Serve blocks of MMAP_THRESHOLD bytes and more from mmap; False where
    the C library is not glibc, which then keeps its own policy."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
