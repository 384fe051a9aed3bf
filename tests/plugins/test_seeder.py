"""Seed drill: rows, row-group sections, seeds per square metre from the rate and the kernel weight."""
from __future__ import annotations

import pytest

from agrifleet.core.errors import ConfigError
from agrifleet.plugins.seeder import Seeder


def test_rows_sections_and_seed_numbers() -> None:
    s = Seeder()  # 6 m, 48 rows, 2 sections, 180 kg/ha, TKW 45 g
    assert s.row_spacing_m == pytest.approx(0.125)
    assert s.rows_per_section == 24
    assert [sec.width_m for sec in s.sections] == pytest.approx([3.0, 3.0])
    assert s.seeds_per_m2 == pytest.approx(400.0)             # 180 kg/ha / 45 g per 1000 seeds
    assert s.seed_spacing_in_row_m == pytest.approx(0.02)     # 400 seeds/m2 on rows 0.125 m apart
    assert s.consumable.unit == "kg" and s.consumable.area_per_fill_m2 == pytest.approx(3000 / 180 * 1e4)
    assert s.switch_lead_m(3.0, on=True) == pytest.approx(4.5)  # 1.5 s of seed fall at 3 m/s
    assert s.max_work_speed_mps == 4.0 and s.capabilities_required == {"ground", "seed"}


def test_sections_must_hold_whole_rows() -> None:
    with pytest.raises(ConfigError, match="seeder.*n_sections = 5 must divide the 48 rows"):
        Seeder(n_sections=5)
    assert Seeder(rows=12, n_sections=12, width_m=9.0).sections[0].width_m == pytest.approx(0.75)
