"""agrifleet core: the domain model, contracts and runtime every other package builds on.

Importing ``agrifleet.core`` is cheap: heavy libraries (pymavlink, matplotlib) are imported only inside the
modules that need them.
"""
from __future__ import annotations

from .errors import AgrifleetError, FieldError, PlanError, ProtocolError
from .field import Field, Zone
from .geo import LocalFrame
from .plan import PATH_DTYPE, Plan, PlanMetrics, SegmentKind, Sortie

__version__ = "0.1.0"

__all__ = [
    "AgrifleetError",
    "Field",
    "FieldError",
    "LocalFrame",
    "PATH_DTYPE",
    "Plan",
    "PlanError",
    "PlanMetrics",
    "ProtocolError",
    "SegmentKind",
    "Sortie",
    "Zone",
    "__version__",
]
