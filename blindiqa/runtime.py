"""Process-wide settings that make scoring fast and keep it fast on a busy machine.

**Freed memory is kept for reuse** (:func:`keep_freed_memory`).

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

**Waiting threads spin briefly, then sleep** (:func:`limit_openmp_spinning`). torch's
CPU kernels run on an OpenMP team (GNU libgomp in the PyPI wheels) whose idle threads
spin for a while (300,000 turns by default) before they sleep. When another process
takes one of the cores (a decoding worker, another job, a noisy neighbour on a virtual
machine), a spinning thread burns the time slice the working thread needs, and every
parallel region waits for the thread that lost its core. ``GOMP_SPINCOUNT=1000`` (the
count libgomp itself falls back to when it sees more threads than cores) keeps the speed
of spinning on a quiet machine and the robustness of sleeping on a busy one. Measured on
this project's 2-core machine (score of a 500x500 photo, 2 threads, median of 3 runs of
20; in brackets: with one busy-looping process beside it): OpenMP's default 52 ms
(207 ms), ``GOMP_SPINCOUNT=1000`` 55 ms (106 ms), ``OMP_WAIT_POLICY=PASSIVE`` 68 ms
(105 ms); on a shared machine the default has taken 0.3 to 1.6 s. The setting is read
when torch loads its OpenMP library, so it must be in the environment before ``import
torch``: the ``blindiqa`` command sets it first thing (unless ``GOMP_SPINCOUNT`` or
``OMP_WAIT_POLICY`` is already set), and a script can call
:func:`limit_openmp_spinning` before it imports torch. Other OpenMP runtimes ignore it.
"""

from __future__ import annotations

import ctypes
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

#: What :func:`limit_openmp_spinning` puts in the environment.
SPIN_SETTINGS = {"GOMP_SPINCOUNT": "1000"}
#: The user's own OpenMP wait settings, which it never overrides.
_USER_SETTINGS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")


def limit_openmp_spinning() -> bool:
    """Put ``GOMP_SPINCOUNT=1000`` in the environment unless the user chose a waiting
    policy (``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` set).

    Returns:
        True where it will take effect: it was set, and torch is not imported yet (its
        OpenMP library reads the variable when it loads). False otherwise (nothing is
        changed).
    """
    if "torch" in sys.modules or any(k in os.environ for k in _USER_SETTINGS):
        return False
    os.environ.update(SPIN_SETTINGS)
    return True


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
        fn = ctypes.CDLL(None).mallopt  # the process's own symbols: its C library's
    except (OSError, AttributeError):  # musl has no mallopt
        return False
    fn.argtypes = (ctypes.c_int, ctypes.c_int)
    fn.restype = ctypes.c_int
    return bool(fn(param, value))
