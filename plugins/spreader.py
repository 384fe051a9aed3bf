"""Spinning-disc spreader: throws fertiliser wider than it works, and relies on the overlap to even out.

Each disc pair lays down a pattern that is flat in the middle and falls off towards the edges. With a
trapezoidal pattern of total width ``spread_width_m`` and passes ``working_width_m`` apart, adjacent passes
add up to an even rate exactly when the flat top is ``2 * working_width_m - spread_width_m`` wide, so the
spread width must lie between one and two working widths. The footprint carries that profile for the
simulator's as-applied map; sections split the working width (border and section control shorten the
throw on one side).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agrifleet.core.implement import (Actuation, ActuationKind, ConsumableModel, Footprint, Implement, Section,
                                      even_sections, param)

__all__ = ["Spreader"]


@dataclass(frozen=True, slots=True)
class Spreader(Implement):
    """Spinning-disc fertiliser spreader: spread width against working width, overlap, hopper."""

    name = "spreader"
    kind = "spreader"

    working_width_m: float = param(24.0, "distance between passes (working width), m")
    spread_width_m: float = param(36.0, "total width the discs throw to, m (1..2 working widths)")
    n_sections: int = param(4, "sections across the working width")
    rate_kg_per_ha: float = param(200.0, "application rate, kg/ha")
    hopper_kg: float = param(3000.0, "hopper capacity, kg")
    disc_offset_m: float = param(-2.0, "disc position along travel from the vehicle reference point, m")
    throw_depth_m: float = param(8.0, "length of the thrown pattern behind the discs, m")
    max_speed_mps: float = param(5.0, "highest spreading speed, m/s")
    on_lead_s: float = param(1.0, "delay from shutter open to the full pattern on the ground, s")
    off_lag_s: float = param(1.5, "delay from shutter close to nothing landing, s")
    actuation: Actuation = param(Actuation(ActuationKind.SERVO, 9, 1900, 1100), "shutter servo")
    section_actuation: Actuation | None = param(None, "first section output; section i uses channel + i")

    def __post_init__(self) -> None:
        self._check_positive("working_width_m", "spread_width_m", "n_sections", "rate_kg_per_ha", "hopper_kg",
                             "throw_depth_m", "max_speed_mps")
        self._check_positive("on_lead_s", "off_lag_s", allow_zero=True)
        self._check("spread_width_m", self.working_width_m <= self.spread_width_m <= 2 * self.working_width_m,
                    f"must lie within 1..2 working widths ({self.working_width_m:g}..{2 * self.working_width_m:g})")
        self.sections  # validates the section count  # noqa: B018

    @property
    def overlap_ratio(self) -> float:
        """Width thrown onto the neighbouring passes, as a share of the working width."""
        return (self.spread_width_m - self.working_width_m) / self.working_width_m

    @property
    def sections(self) -> tuple[Section, ...]:
        return even_sections(self.working_width_m, self.n_sections, owner=self.name)

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.spread_width_m, self.throw_depth_m, self.disc_offset_m - self.throw_depth_m / 2,
                         flat_width_m=2 * self.working_width_m - self.spread_width_m)

    def rate_across(self, lateral_m: np.ndarray, n_passes: int = 5) -> np.ndarray:
        """Relative rate at lateral positions after ``n_passes`` adjacent passes centred on 0: the sum of
        the overlapping patterns, 1.0 where the spreading is even."""
        fp = self.footprint
        offsets = (np.arange(n_passes) - (n_passes - 1) / 2) * self.working_width_m
        lat = np.asarray(lateral_m, dtype=float)
        return sum(fp.profile(lat - o) for o in offsets)

    @property
    def consumable(self) -> ConsumableModel:
        return ConsumableModel("fertiliser", "kg", self.rate_kg_per_ha, self.hopper_kg)

    @property
    def capabilities_required(self) -> frozenset[str]:
        return frozenset({"ground", "spread"})

    @property
    def max_work_speed_mps(self) -> float:
        return self.max_speed_mps
