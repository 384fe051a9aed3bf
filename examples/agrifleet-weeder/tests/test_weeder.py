"""The weeder against agrifleet's implement contract, and its discovery once installed."""
from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import MavCmd, build_implement
from agrifleet.core.plugin import CONTRACTS, check_contract
from agrifleet_weeder import Weeder


def test_geometry_and_hoed_area() -> None:
    w = Weeder()  # 6 rows 0.5 m apart, 8 cm crop band
    assert w.working_width_m == pytest.approx(3.0)
    assert w.n_sections == 6 and [s.width_m for s in w.sections] == pytest.approx([0.5] * 6)
    assert w.cultivated_fraction == pytest.approx(0.84)
    assert w.hoed_area_m2(100.0) == pytest.approx(252.0)
    assert w.hoed_area_m2(100.0, mask=0b000111) == pytest.approx(126.0)
    assert (w.min_work_speed_mps, w.max_work_speed_mps) == (0.5, 2.5)
    assert w.switch_lead_m(2.0, on=True) == pytest.approx(1.6)  # frame lowered 0.8 s ahead
    assert w.capabilities_required == {"ground", "row_guidance"} and w.consumable is None


def test_row_units_lift_individually() -> None:
    w = Weeder.from_params({"rows": "4", "section_actuation": "relay:3"})
    cmds = w.actuation_commands(0b1111, 0b1011)
    assert [(c.command, c.params[0], c.params[1]) for c in cmds] == [(MavCmd.DO_SET_RELAY, 5.0, 0.0)]
    down = w.actuation_commands(0, 0b0001)
    assert down[-1].command is MavCmd.DO_SET_SERVO and down[-1].params[:2] == (11.0, 1900.0)


def test_bad_parameters_name_the_weeder() -> None:
    with pytest.raises(ConfigError, match="implement 'weeder': crop_band_m = 0.6 must be narrower"):
        Weeder(crop_band_m=0.6)
    with pytest.raises(ConfigError, match="weeder.*1..32"):
        Weeder(rows=40)


def test_fulfils_the_contract_and_is_discovered_once_installed() -> None:
    check_contract("agrifleet.implements", "weeder", Weeder)
    assert {"working_width_m", "actuation_commands"} <= set(CONTRACTS["agrifleet.implements"])
    eps = {ep.name: ep for ep in entry_points(group="agrifleet.implements")}
    assert "weeder" in eps, "install the package first: pip install ./examples/agrifleet-weeder"
    assert eps["weeder"].load() is Weeder
    assert build_implement("weeder:rows=8,row_spacing_m=0.45").working_width_m == pytest.approx(3.6)
