"""Plan export in the formats farms and ground stations use, and the registry that names them.

``EXPORTERS`` maps a format name to its exporter: ``qgc`` (QGroundControl ``.plan``), ``wpl`` (MAVLink
waypoint file, QGC WPL 110), ``kml``, ``geojson`` and ``isoxml`` (ISO 11783-10 TaskData). Every exporter
takes plans as :func:`agrifleet.core.plan_io.read_plans` returns them, so whatever ``agrifleet plan`` wrote
exports without loss of the plan's own data; local-metre plans need an origin
(:attr:`ExportOptions.origin`). The ``agrifleet export`` command lives in :mod:`.cli`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from agrifleet.core.errors import ConfigError, PlanError
from agrifleet.core.plan import Plan

from ._common import ExportOptions, ExportResult, Exporter
from .geojson import GeoJsonExporter
from .isoxml import IsoxmlExporter
from .kml import KmlExporter
from .qgc import QgcExporter
from .wpl import WplExporter

__all__ = ["EXPORTERS", "ExportOptions", "ExportResult", "Exporter", "export_plans", "get_exporter"]

EXPORTERS: dict[str, Exporter] = {e.name: e for e in (QgcExporter(), WplExporter(), KmlExporter(),
                                                      GeoJsonExporter(), IsoxmlExporter())}


def get_exporter(fmt: str) -> Exporter:
    try:
        return EXPORTERS[fmt]
    except KeyError:
        raise ConfigError(f"export format {fmt!r} is not one of {', '.join(EXPORTERS)}") from None


def export_plans(plans: Sequence[Plan], fmt: str, target: str | os.PathLike[str],
                 options: ExportOptions | None = None) -> ExportResult:
    """Write ``plans`` as ``fmt`` to ``target`` (several files when a format holds one mission per file)."""
    if not plans:
        raise PlanError("no plans to export")
    exporter = get_exporter(fmt)
    path = Path(target)
    if path.parent and not path.parent.exists():
        raise ConfigError(f"-o {path}: folder {path.parent} does not exist")
    return exporter.export(list(plans), path, options or ExportOptions())
