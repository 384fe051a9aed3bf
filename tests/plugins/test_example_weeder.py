"""The third-party example package builds as a wheel whose entry point agrifleet discovers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "agrifleet-weeder"

PROBE = """
import json, agrifleet_weeder
from importlib.metadata import entry_points
from agrifleet.core.implement import build_implement
ep = {e.name: e for e in entry_points(group="agrifleet.implements")}["weeder"]
w = build_implement("weeder:rows=8,row_spacing_m=0.45")
print(json.dumps({"module": agrifleet_weeder.__file__, "dist": str(ep.dist.locate_file("")),
                  "width": w.working_width_m, "sections": w.n_sections}))
"""


def test_wheel_installs_and_is_discovered(tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "dist"), str(EXAMPLE)], capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("agrifleet_weeder-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "agrifleet_weeder/weeder.py" in names and "agrifleet_weeder/py.typed" in names
        entry = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
        assert "[agrifleet.implements]" in entry and "weeder = agrifleet_weeder.weeder:Weeder" in entry
        z.extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert found["module"].startswith(str(site))
    assert found["width"] == 3.6 and found["sections"] == 8
    listing = subprocess.run([sys.executable, "-m", "agrifleet.core.cli", "plugins", "--json"], capture_output=True,
                             text=True, env=env, timeout=120)
    implements = json.loads(listing.stdout)["agrifleet.implements"]
    weeder = next(p for p in implements["plugins"] if p["name"] == "weeder")
    assert weeder["distribution"] == "agrifleet-weeder" and "rows" in weeder["parameters"]
    assert weeder["summary"]["capabilities_required"] == ["ground", "row_guidance"]
