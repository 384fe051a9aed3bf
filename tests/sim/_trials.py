"""Small scenario files for the trial tests (a 96 m x 48 m field: about half a second per tractor-trial)."""
from __future__ import annotations

from pathlib import Path


def small(tmp_path: Path, *, vehicles: int = 1, faults: str = "", criteria: str = "coverage_min = 0.9",
          run: str = "", params: str = "headland_passes = 1, angle_deg = 0", name: str = "small.toml") -> Path:
    """Write a scenario in which ``vehicles`` tractors spray one small field; returns its path."""
    fleet = "".join(f'[[fleet]]\nid = "t{k + 1}"\nkind = "tractor"\nimplement = "sprayer:boom_width_m=12,'
                    f'n_sections=4"\nstart = [{6 + 14 * k}, -8, 90]\n' for k in range(vehicles))
    text = (f'name = "{Path(name).stem}"\n[run]\ntime_limit_s = 900\n{run}\n'
            '[[fields]]\npolygon = [[0, 0], [96, 0], [96, 48], [0, 48]]\n'
            f'{fleet}[[jobs]]\nparams = {{ {params} }}\n{faults}\n[criteria]\n{criteria}\n')
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
