"""``python -m agrifleet.sim._demo_child PARENT_PID ARGS...``: ``agrifleet ARGS...``, ending with its parent.

``agrifleet demo`` starts its vehicle agents with the ``agrifleet`` command line (``agrifleet agent ...``)
through this wrapper. On Linux the child first asks the kernel for SIGTERM when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and ``agrifleet agent`` stops cleanly on SIGTERM, so even a demo killed
outright leaves no agent behind. Elsewhere the wrapper just runs the command (the demo stops its agents
itself on every other way out).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["main"]

PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> bool:
    """Ask for SIGTERM when ``parent`` dies; False when it is gone already."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no libc symbol: run without the guard
            pass
    return os.getppid() == parent


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or not args[0].isdigit():
        print("usage: python -m agrifleet.sim._demo_child PARENT_PID AGRIFLEET_ARGS...", file=sys.stderr)
        return 2
    if not _die_with(int(args[0])):
        return 0
    from agrifleet.core.cli import main as agrifleet

    return agrifleet(args[1:])


if __name__ == "__main__":  # pragma: no cover - run as a child process
    sys.exit(main())
