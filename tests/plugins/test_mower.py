"""Mower: decks as sections, PTO servo, spin-up lead."""
from __future__ import annotations

import pytest

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import MavCmd
from agrifleet.plugins.mower import Mower


def test_single_bar_and_butterfly_decks() -> None:
    m = Mower()
    assert m.n_sections == 1 and m.consumable is None and m.capabilities_required == {"ground", "pto"}
    (cmd,) = m.actuation_commands(0, 1)
    assert cmd.command is MavCmd.DO_SET_SERVO and cmd.params[:2] == (10.0, 1900.0)
    assert m.switch_lead_m(3.0, on=True) == pytest.approx(6.0) and m.switch_lead_m(3.0, on=False) == 0.0
    triple = Mower.from_params({"width_m": "9", "deck_widths_m": "3+3+3", "section_actuation": "relay:2"})
    assert [s.offset_m for s in triple.sections] == pytest.approx([3.0, 0.0, -3.0])
    lift = triple.actuation_commands(0b111, 0b101)
    assert [(c.command, c.params[0], c.params[1]) for c in lift] == [(MavCmd.DO_SET_RELAY, 3.0, 0.0)]
    with pytest.raises(ConfigError, match="mower.*add up to 6 m, not the working width 9 m"):
        Mower.from_params({"width_m": "9", "deck_widths_m": "3+3"})
