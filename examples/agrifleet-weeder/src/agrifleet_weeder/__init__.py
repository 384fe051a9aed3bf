"""agrifleet-weeder: an inter-row weeder implement plugin for agrifleet."""
from __future__ import annotations

from .weeder import Weeder

__all__ = ["Weeder"]
__version__ = "0.1.0"
