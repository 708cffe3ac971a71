"""What a step may allocate: work whose size an option sets is checked against the machine's free
memory before it starts, so an absurd value is refused with a message instead of meeting the OOM killer."""

from __future__ import annotations

import os

from cltool.errors import UsageError

_GIB = 1 << 30


def available() -> int:
    """Bytes this machine can give now without swapping (MemAvailable), or its physical memory."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 1 << 62  # unknown: do not refuse


def fits(needed: int) -> bool:
    """Whether `needed` bytes leave a quarter of what is free for everything else."""
    return needed <= 0.75 * available()


def require(needed: int, what: str, hint: str) -> None:
    """Refuse work that needs more memory than the machine has free (an input error: an option asked it)."""
    if not fits(needed):
        raise UsageError(f"{what} needs about {needed / _GIB:,.1f} GiB of memory, more than the "
                         f"{available() / _GIB:,.1f} GiB this machine has free", hint=hint)
