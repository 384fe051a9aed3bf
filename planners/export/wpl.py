"""MAVLink waypoint files, ``QGC WPL 110``: one tab-separated line per item, as QGC, Mission Planner,
MAVProxy (``wp load``) and pymavlink's ``MAVWPLoader`` read them.

Line: ``seq current frame command p1 p2 p3 p4 lat lon alt autocontinue``. For ArduPilot, item 0 is home
(frame 0, current 1), as ground stations write it; for PX4 the first line is the first real item.
Coordinates carry 9 decimals (0.1 mm), parameters enough digits to read back the same float32 values.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from agrifleet.core.plan import Plan

from ._common import ExportOptions, ExportResult
from .mission import Mission, write_missions

__all__ = ["WplExporter", "mission_to_wpl"]

HEADER = "QGC WPL 110"


def _p(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:.9g}"


def mission_to_wpl(mission: Mission) -> str:
    lines = [HEADER]
    for seq, it in enumerate(mission.uploaded):
        current = 1 if seq == 0 else 0
        fields = [str(seq), str(current), str(int(it.frame)), str(int(it.command)),
                  *(_p(v) for v in it.params), f"{it.lat_deg:.9f}", f"{it.lon_deg:.9f}", f"{it.alt_m:.3f}",
                  "1" if it.autocontinue else "0"]
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


class WplExporter:
    name = "wpl"
    suffix = ".waypoints"
    description = "MAVLink waypoint file (QGC WPL 110) for MAVProxy, Mission Planner, QGC"

    def export(self, plans: Sequence[Plan], target: Path, options: ExportOptions) -> ExportResult:
        return write_missions(plans, target, options, lambda mission, plan: mission_to_wpl(mission))
