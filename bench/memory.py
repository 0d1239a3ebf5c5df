"""Memory figures of the current process, read from ``/proc/self/status`` (Linux).

Not ``ru_maxrss``: Linux carries the peak over from the parent across fork and exec, so a
benchmark child started by a large process would report its parent's peak.
"""

from __future__ import annotations


def memory_kib(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in KiB; 0 if unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


__all__ = ["memory_kib"]
