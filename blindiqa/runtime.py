"""Process-wide memory settings that make scoring fast: freed memory is kept for reuse.

Every forward pass of the encoder allocates its feature maps afresh (tens of MB each on
a photo). glibc's ``malloc`` serves blocks above its *mmap threshold* (128 kB, growing
to at most 32 MB) with fresh ``mmap`` pages and gives them back on ``free``, so every
pass touches new pages and the kernel zero-fills each one on first use: on a 500x500
photo about 14,000 page faults, a quarter of the encoder's time on this project's
2-core machines, and more on virtual machines whose page faults are dearer. With the
mmap threshold and the trim threshold raised (``mallopt``), freed blocks stay in the
heap and the next pass reuses them: no page faults after the first image.

The cost: the process keeps its peak heap instead of returning it to the system after
a large image (its resident size stays near its peak; peak RSS is unchanged).
:func:`blindiqa.load` applies the setting once per process; set the environment variable
``BLINDIQA_KEEP_MEMORY=0`` to leave ``malloc`` as it is. Elsewhere than glibc (macOS,
musl, Windows) nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: ``mallopt`` parameters (glibc's ``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks below this size come from the heap and are reused; only larger ones (a
#: decoded 90-Mpixel photo) still get their own pages.
MMAP_THRESHOLD = 1 << 30
#: Free memory at the top of the heap is returned to the system beyond this much.
TRIM_THRESHOLD = 1 << 30

#: The environment variable that turns the setting off (``0``).
ENV_VAR = "BLINDIQA_KEEP_MEMORY"

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds, once per process (later calls return the
    first call's outcome).

    Returns:
        True where the setting is in force (now or from an earlier call); False where it
        is turned off, or ``malloc`` is not glibc's.
    """
    global _applied
    if _applied is None:
        if os.environ.get(ENV_VAR, "1").strip() == "0":
            _applied = False
        else:
            _applied = (_mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                        and _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied


def _mallopt(param: int, value: int) -> bool:
    """``mallopt(param, value)`` of glibc; False where there is no such function."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallopt
    except (OSError, AttributeError):  # musl has no mallopt
        return False
    fn.argtypes = (ctypes.c_int, ctypes.c_int)
    fn.restype = ctypes.c_int
    return bool(fn(param, value))
