"""Compiled kernels (Cython) and their plain numpy references.

Each kernel ``_<topic>.pyx`` has a reference ``_<topic>_ref.py`` with the same functions. :func:`kernel`
is the one switch between them: it returns the compiled module, or the reference when the environment
variable ``AGRIFLEET_PUREPYTHON=1`` is set (tests run both). A missing compiled module is an installation
error and says so, rather than silently running the slow path.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["PUREPYTHON", "kernel"]

PUREPYTHON = os.environ.get("AGRIFLEET_PUREPYTHON", "") not in ("", "0")

# The batch kernels' OpenMP threads wait passively (libgomp reads this when it loads, with the first
# compiled kernel): a thread spinning at the end of a batch holds a core that, on a shared machine, the
# batch's other thread (preempted) or other work needs; under load the default spinning made 2 threads slower
# than 1. Set OMP_WAIT_POLICY to choose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def kernel(topic: str, *, reference: bool | None = None) -> ModuleType:
    """The module implementing kernel ``topic``: compiled by default, the numpy reference if asked."""
    use_reference = PUREPYTHON if reference is None else reference
    if use_reference:
        return importlib.import_module(f"agrifleet.ext._{topic}_ref")
    try:
        return importlib.import_module(f"agrifleet.ext._{topic}")
    except ImportError as exc:
        raise ImportError(
            f"compiled kernel agrifleet.ext._{topic} is not built ({exc}); reinstall with "
            "'pip install -e .' (needs a C compiler), or set AGRIFLEET_PUREPYTHON=1 for the numpy references"
        ) from exc
