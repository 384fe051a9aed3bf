"""Fly one planned drone sortie in the simulator: the check that a sortie's planned energy and time are
what a drone really spends, shared by the sortie tests and the drone-jobs benchmark."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agrifleet.core.implement import build_implement
from agrifleet.core.plan import Plan
from agrifleet.drivers.base import MissionState
from agrifleet.drivers.sim import SimDriver

from .energy import payload_from_implement
from .vehicles import MultirotorModel, VehicleSpec
from .world import World

__all__ = ["SortieFlight", "fly_sortie"]


@dataclass(frozen=True, slots=True)
class SortieFlight:
    """What flying one sortie left: the world (its clock is the flight time), the drone and its driver."""

    world: World
    model: MultirotorModel
    driver: SimDriver

    @property
    def completed(self) -> bool:
        return self.driver.mission_state is MissionState.COMPLETE and not self.model.crashed


def fly_sortie(plan: Plan, k: int, drone: VehicleSpec, implement: str, *, dt_s: float = 0.05) -> SortieFlight:
    """Fly sortie ``k`` of ``plan`` (planned by :func:`~agrifleet.planners.sorties.split_sorties`) with a
    full load from its first sample, for at most three times its planned flight time (seed ``k``)."""
    sortie, facts = plan.sorties[k], plan.meta["sorties"][k]
    piece = plan.slice(sortie.start, sortie.stop)
    world = World(rng=np.random.default_rng(k), dt_s=dt_s)
    model = MultirotorModel(drone, payload=payload_from_implement(build_implement(implement)))
    model.state.tank_l = sortie.payload_l
    model.place(float(piece.path["x"][0]), float(piece.path["y"][0]), 0.0, world)
    driver = SimDriver("d", world=world, model=model, clock=world.now)
    driver.connect()
    driver.upload(piece)
    driver.start()
    world.run(3 * facts["flight_s"], until=lambda w: driver.mission_state is MissionState.COMPLETE)
    return SortieFlight(world, model, driver)
