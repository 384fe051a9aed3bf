"""Boom sprayer: nozzle flow follows speed at a constant rate; the nozzle range bounds the speed."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import MavCmd
from agrifleet.plugins.sprayer import Sprayer


def test_flows_and_speed_window_at_the_defaults() -> None:
    s = Sprayer()  # 24 m, 150 L/ha, nozzles every 0.5 m, 0.4..2.0 L/min
    assert s.n_nozzles == 48
    assert float(s.nozzle_flow_l_per_min(3.0)) == pytest.approx(1.35)          # 150 * 3 * 0.5 * 60 / 1e4
    assert float(s.total_flow_l_per_min(3.0)) == pytest.approx(64.8)           # 48 nozzles * 1.35
    assert float(s.total_flow_l_per_min(3.0, mask=0b11)) == pytest.approx(64.8 / 4)
    assert s.max_work_speed_mps == pytest.approx(2.0 / 0.45)                   # 4.44 m/s = 16 km/h
    assert s.min_work_speed_mps == pytest.approx(0.4 / 0.45)
    assert s.consumable.area_per_fill_m2 == pytest.approx(200_000.0)           # 3000 L at 150 L/ha = 20 ha
    assert s.capabilities_required == {"ground", "spray"}
    assert s.footprint.offset_m == -4.0 and s.footprint.width_m == 24.0


@given(st.floats(50, 400), st.floats(0.2, 8.0), st.floats(6, 36))
def test_rate_per_hectare_is_constant_at_any_speed(rate: float, speed: float, width: float) -> None:
    s = Sprayer(boom_width_m=width, rate_l_per_ha=rate, n_sections=1)
    litres_per_s = float(s.total_flow_l_per_min(speed)) / 60.0
    hectares_per_s = width * speed / 10_000.0
    assert litres_per_s / hectares_per_s == pytest.approx(rate)
    assert float(s.nozzle_flow_l_per_min(s.max_work_speed_mps)) == pytest.approx(s.nozzle_max_flow_l_per_min)


def test_drone_sprayer_uses_do_sprayer_and_needs_air() -> None:
    d = Sprayer.from_params({"boom_width_m": "6", "n_sections": "1", "tank_l": "40", "platform": "air",
                             "actuation": "sprayer"})
    assert d.capabilities_required == {"air", "spray"}
    assert [c.command for c in d.actuation_commands(0, 1)] == [MavCmd.DO_SPRAYER]
    assert d.consumable.area_per_fill_m2 == pytest.approx(40 / 150 * 10_000)


def test_section_valves_follow_the_section_bits() -> None:
    s = Sprayer(section_widths_m=(6.0, 6.0, 6.0, 6.0), section_actuation=Sprayer().actuation.shifted(1))
    cmds = s.actuation_commands(0b1111, 0b0111)  # right-most section closes, pump stays on
    assert [(c.command, c.params[0], c.params[1]) for c in cmds] == [(MavCmd.DO_SET_RELAY, 4.0, 0.0)]


@pytest.mark.parametrize("params, words", [
    ({"nozzle_max_flow_l_per_min": 0.3}, "must exceed nozzle_min_flow_l_per_min"),
    ({"platform": "water"}, "is not one of ground, air, any"),
    ({"n_sections": 40}, "1..32"),
    ({"rate_l_per_ha": 0}, "rate_l_per_ha = 0.0 must be > 0"),
])
def test_bad_parameters_name_the_implement_and_key(params: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as err:
        Sprayer.from_params(params)
    assert "sprayer" in str(err.value)
