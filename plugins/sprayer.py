"""Boom sprayer: sections of nozzles along a boom, a tank, and a flow that follows ground speed.

A rate controller keeps the applied rate (litres per hectare) constant, so the flow through each nozzle
grows with speed: ``q [L/min] = rate [L/ha] * speed [m/s] * nozzle_spacing [m] * 60 / 10 000``. A nozzle has a working range of flows
(too little pressure and the spray pattern collapses, too much and it drifts), which gives the sprayer its
own speed window; the planner takes ``min_work_speed_mps``/``max_work_speed_mps`` into account.

The same plugin covers spray drones: ``platform = "air"`` with ``actuation = "sprayer"`` (ArduPilot's
DO_SPRAYER) and a boom the width of the drone's swath.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agrifleet.core.implement import (Actuation, ActuationKind, ConsumableModel, Footprint, Implement, Section,
                                      even_sections, param)

__all__ = ["Sprayer"]

_PLATFORMS = ("ground", "air", "any")
_L_PER_MIN = 60.0 / 10_000.0  # (L/ha) * (m/s) * m -> L/min


@dataclass(frozen=True, slots=True)
class Sprayer(Implement):
    """Boom sprayer (tractor or drone): sections, nozzles, tank; flow follows speed at a constant rate."""

    name = "sprayer"
    kind = "sprayer"

    boom_width_m: float = param(24.0, "boom width = working width, m")
    n_sections: int = param(8, "equal boom sections (ignored when section_widths_m is given)")
    section_widths_m: tuple[float, ...] = param((), "widths of the sections left to right, m (e.g. 6+6+6+6)")
    nozzle_spacing_m: float = param(0.5, "distance between nozzles on the boom, m")
    nozzle_min_flow_l_per_min: float = param(0.4, "lowest flow per nozzle that still sprays well, L/min")
    nozzle_max_flow_l_per_min: float = param(2.0, "highest flow per nozzle, L/min")
    rate_l_per_ha: float = param(150.0, "application rate, L/ha")
    tank_l: float = param(3000.0, "tank capacity, L")
    density_kg_per_l: float = param(1.0, "density of the mix, kg/L")
    boom_offset_m: float = param(-4.0, "boom position along travel from the vehicle reference point, m (+ ahead)")
    spray_depth_m: float = param(0.5, "length of the sprayed strip under the boom along travel, m")
    on_lead_s: float = param(0.6, "delay from valve-open command to full spray, s")
    off_lag_s: float = param(0.3, "delay from valve-close command to no spray, s")
    platform: str = param("ground", "vehicle type: ground, air or any")
    actuation: Actuation = param(Actuation(ActuationKind.RELAY, 0), "main switch (pump or master valve)")
    section_actuation: Actuation | None = param(None, "first section valve output; section i uses channel + i")

    def __post_init__(self) -> None:
        self._check_positive("boom_width_m", "nozzle_spacing_m", "nozzle_min_flow_l_per_min",
                             "nozzle_max_flow_l_per_min", "rate_l_per_ha", "tank_l", "density_kg_per_l",
                             "spray_depth_m")
        self._check_positive("on_lead_s", "off_lag_s", allow_zero=True)
        self._check("nozzle_max_flow_l_per_min", self.nozzle_max_flow_l_per_min > self.nozzle_min_flow_l_per_min,
                    "must exceed nozzle_min_flow_l_per_min")
        self._check("nozzle_spacing_m", self.nozzle_spacing_m <= self.boom_width_m, "must not exceed the boom")
        self._check("platform", self.platform in _PLATFORMS, f"is not one of {', '.join(_PLATFORMS)}")
        self.sections  # validates section count and widths  # noqa: B018

    @property
    def working_width_m(self) -> float:
        return self.boom_width_m

    @property
    def sections(self) -> tuple[Section, ...]:
        return even_sections(self.boom_width_m, self.n_sections, self.section_widths_m, owner=self.name)

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.boom_width_m, self.spray_depth_m, self.boom_offset_m)

    @property
    def consumable(self) -> ConsumableModel:
        return ConsumableModel("spray mix", "l", self.rate_l_per_ha, self.tank_l, self.density_kg_per_l)

    @property
    def capabilities_required(self) -> frozenset[str]:
        return frozenset({"spray"} | ({self.platform} if self.platform != "any" else set()))

    @property
    def n_nozzles(self) -> int:
        return max(1, int(round(self.boom_width_m / self.nozzle_spacing_m)))

    def nozzle_flow_l_per_min(self, speed_mps: float | np.ndarray) -> np.ndarray:
        """Flow each open nozzle must deliver at ``speed_mps`` to hold the rate."""
        return self.rate_l_per_ha * np.asarray(speed_mps, dtype=float) * self.nozzle_spacing_m * _L_PER_MIN

    def total_flow_l_per_min(self, speed_mps: float | np.ndarray, mask: int | None = None) -> np.ndarray:
        """Flow of the open sections at ``speed_mps``: the rate per hectare follows speed."""
        width = self.working_width_m if mask is None else self.active_width_m(mask)
        return self.consumable.flow_per_s(speed_mps, width) * 60.0

    @property
    def max_work_speed_mps(self) -> float:
        return self.nozzle_max_flow_l_per_min / (self.rate_l_per_ha * self.nozzle_spacing_m * _L_PER_MIN)

    @property
    def min_work_speed_mps(self) -> float:
        return self.nozzle_min_flow_l_per_min / (self.rate_l_per_ha * self.nozzle_spacing_m * _L_PER_MIN)
