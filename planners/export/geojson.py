"""GeoJSON: the plan file format of :mod:`agrifleet.core.plan_io`, placed on the globe.

A GeoJSON export is a plan file in WGS84 (or GCJ-02/BD-09 for Chinese web maps): GIS tools draw it, and
``agrifleet export`` and every other plan reader read it back to the same plans, samples and all.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from agrifleet.core.errors import ConfigError, PlanError
from agrifleet.core.plan import Plan
from agrifleet.core.plan_io import plans_to_geojson

from ._common import ExportOptions, ExportResult, anchored

__all__ = ["GeoJsonExporter"]


class GeoJsonExporter:
    name = "geojson"
    suffix = ".geojson"
    description = "GeoJSON FeatureCollection in WGS84 (a lossless agrifleet plan file)"

    def export(self, plans: Sequence[Plan], target: Path, options: ExportOptions) -> ExportResult:
        placed = [anchored(p, options, k) for k, p in enumerate(plans)]
        try:
            doc = plans_to_geojson(placed, options.out_crs)
        except PlanError as exc:
            raise ConfigError(f"--out-crs: {exc}") from None
        target.write_text(json.dumps(doc), encoding="utf-8")
        return ExportResult(files=[target], details=[{"file": str(target), "plans": len(placed),
                                                      "features": len(doc["features"])}])
