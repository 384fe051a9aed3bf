"""Seed drill: rows across the working width, grouped into sections that shut off whole rows; a hopper.

The metering unit delivers a mass rate per hectare at any speed (the drive follows ground speed), so the
consumable model alone says how far a hopper goes. Seed falls through tubes from the meter to the coulters,
which is why a drill needs a long switch-on lead and a shorter switch-off lag.
"""
from __future__ import annotations

from dataclasses import dataclass

from agrifleet.core.implement import (Actuation, ActuationKind, ConsumableModel, Footprint, Implement, Section,
                                      even_sections, param)

__all__ = ["Seeder"]


@dataclass(frozen=True, slots=True)
class Seeder(Implement):
    """Seed drill or planter: rows, row-group sections, hopper; rate per hectare at any speed."""

    name = "seeder"
    kind = "seeder"

    width_m: float = param(6.0, "working width, m")
    rows: int = param(48, "seed rows across the width")
    n_sections: int = param(2, "sections; each shuts off an equal group of whole rows")
    seed_rate_kg_per_ha: float = param(180.0, "seed rate, kg/ha")
    hopper_kg: float = param(3000.0, "hopper capacity, kg")
    thousand_kernel_weight_g: float = param(45.0, "mass of 1000 seeds, g (for seeds per square metre)")
    coulter_offset_m: float = param(-3.5, "coulter bar along travel from the vehicle reference point, m")
    max_speed_mps: float = param(4.0, "highest drilling speed, m/s")
    on_lead_s: float = param(1.5, "delay from meter start to seed in the furrow, s")
    off_lag_s: float = param(1.0, "delay from meter stop to the last seed in the furrow, s")
    actuation: Actuation = param(Actuation(ActuationKind.RELAY, 1), "meter drive clutch")
    section_actuation: Actuation | None = param(None, "first section shut-off output; section i uses channel + i")

    def __post_init__(self) -> None:
        self._check_positive("width_m", "rows", "n_sections", "seed_rate_kg_per_ha", "hopper_kg",
                             "thousand_kernel_weight_g", "max_speed_mps")
        self._check_positive("on_lead_s", "off_lag_s", allow_zero=True)
        self._check("n_sections", self.n_sections <= self.rows and self.rows % self.n_sections == 0,
                    f"must divide the {self.rows} rows into equal groups")
        self.sections  # validates the section count  # noqa: B018

    @property
    def working_width_m(self) -> float:
        return self.width_m

    @property
    def row_spacing_m(self) -> float:
        return self.width_m / self.rows

    @property
    def rows_per_section(self) -> int:
        return self.rows // self.n_sections

    @property
    def sections(self) -> tuple[Section, ...]:
        return even_sections(self.width_m, self.n_sections, owner=self.name)

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.width_m, 0.3, self.coulter_offset_m)

    @property
    def consumable(self) -> ConsumableModel:
        return ConsumableModel("seed", "kg", self.seed_rate_kg_per_ha, self.hopper_kg)

    @property
    def capabilities_required(self) -> frozenset[str]:
        return frozenset({"ground", "seed"})

    @property
    def max_work_speed_mps(self) -> float:
        return self.max_speed_mps

    @property
    def seeds_per_m2(self) -> float:
        return self.seed_rate_kg_per_ha * 1e6 / self.thousand_kernel_weight_g / 10_000.0

    @property
    def seed_spacing_in_row_m(self) -> float:
        """Distance between seeds along a row."""
        return 1.0 / (self.seeds_per_m2 * self.row_spacing_m)
