"""KML read back with lxml: every sample's position, every segment's attributes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from agrifleet.planners.export import export_plans
from agrifleet.planners.export.kml import KML_NS

from .plans import boustrophedon, random_plans

NS = {"k": KML_NS}


def _check(plan, path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    folder = root.find("k:Document/k:Folder", NS)
    lonlat = plan.frame.to_wgs84(plan.xy)
    segments = list(plan.segments())
    placemarks = [pm for pm in folder.findall("k:Placemark", NS) if pm.find("k:Polygon", NS) is None]
    assert len(placemarks) == len(segments)
    covered = np.zeros(len(plan.path), dtype=int)
    for pm, seg in zip(placemarks, segments):
        data = {d.get("name"): d.findtext("k:value", namespaces=NS) for d in pm.findall("k:ExtendedData/k:Data", NS)}
        assert (data["kind"], int(data["sections"]), int(data["swath"])) == (seg.kind.name.lower(), seg.sections,
                                                                             seg.swath)
        first, count = int(data["first"]), int(data["count"])
        assert (first, count) == (seg.start, seg.stop - seg.start)
        covered[first:first + count] += 1
        coords = np.array([[float(v) for v in c.split(",")]
                           for c in pm.findtext(".//k:coordinates", namespaces=NS).split()])
        assert coords[:count, :2] == pytest.approx(lonlat[first:first + count], abs=1e-9)
        assert coords[:count, 2] == pytest.approx(plan.path["z"][first:first + count], abs=1e-3)
        assert np.array(data["speed_mps"].split(), float) == pytest.approx(plan.path["speed"][first:first + count])
    assert np.all(covered == 1)
    field = [pm for pm in folder.findall("k:Placemark", NS) if pm.find("k:Polygon", NS) is not None]
    assert len(field) == 1
    inner = field[0].findall("k:Polygon/k:innerBoundaryIs", NS)
    assert len(inner) == len(plan.boundary.interiors)


def test_boustrophedon_reads_back(tmp_path: Path) -> None:
    plan = boustrophedon()
    out = tmp_path / "plan.kml"
    export_plans([plan], "kml", out)
    _check(plan, out)
    styles = {s.get("id") for s in etree.parse(str(out)).getroot().iter(f"{{{KML_NS}}}Style")}
    assert {"field", "swath", "turn"} <= styles


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_plans())
def test_random_plans_read_back_equal(tmp_path: Path, plan) -> None:
    out = tmp_path / "r.kml"
    export_plans([plan], "kml", out)
    _check(plan, out)
