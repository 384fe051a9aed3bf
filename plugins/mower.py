"""Mower: one cutter bar, or several decks switched apart (a front-and-butterfly combination).

Nothing is used up; the power take-off has to spin up before the knives reach the crop, so the on-lead is
the PTO spin-up time and switching off needs no lag.
"""
from __future__ import annotations

from dataclasses import dataclass

from agrifleet.core.implement import Actuation, ActuationKind, Footprint, Implement, Section, even_sections, param

__all__ = ["Mower"]


@dataclass(frozen=True, slots=True)
class Mower(Implement):
    """Mower: cutting width, decks as sections, PTO switched by a servo output."""

    name = "mower"
    kind = "mower"

    width_m: float = param(3.0, "cutting width, m")
    deck_widths_m: tuple[float, ...] = param((), "widths of separately lifted decks left to right, m")
    cutter_offset_m: float = param(-1.5, "cutter bar along travel from the vehicle reference point, m")
    cut_depth_m: float = param(1.2, "length of the cutter along travel, m")
    max_speed_mps: float = param(4.0, "highest mowing speed, m/s")
    on_lead_s: float = param(2.0, "PTO spin-up time before the knives cut, s")
    off_lag_s: float = param(0.0, "delay from PTO off to no cutting, s")
    actuation: Actuation = param(Actuation(ActuationKind.SERVO, 10, 1900, 1100), "PTO engage output")
    section_actuation: Actuation | None = param(None, "first deck-lift output; deck i uses channel + i")

    def __post_init__(self) -> None:
        self._check_positive("width_m", "cut_depth_m", "max_speed_mps")
        self._check_positive("on_lead_s", "off_lag_s", allow_zero=True)
        self.sections  # validates deck widths  # noqa: B018

    @property
    def working_width_m(self) -> float:
        return self.width_m

    @property
    def sections(self) -> tuple[Section, ...]:
        return even_sections(self.width_m, 1, self.deck_widths_m, owner=self.name)

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.width_m, self.cut_depth_m, self.cutter_offset_m)

    @property
    def capabilities_required(self) -> frozenset[str]:
        return frozenset({"ground", "pto"})

    @property
    def max_work_speed_mps(self) -> float:
        return self.max_speed_mps
