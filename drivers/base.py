"""The driver contract: how a vehicle agent hands a plan to a machine and hears back from it.

A driver is a thin adapter between agrifleet's :class:`~agrifleet.core.plan.Plan` and one kind of vehicle
interface (a MAVLink autopilot, a tractor ECU, a simulated vehicle in-process). Drivers are plugins of the
``agrifleet.drivers`` entry-point group; the agent that hosts one enforces the lifecycle
``connect -> upload -> start (pause/resume)* -> abort | finish -> close``.

Errors are typed and carry the failing call and the vehicle's answer (``CommandRejected: arm() -> DENIED``),
so the agent can report them on the wire without a catch ladder. Telemetry is a stream of typed samples
whose freshness is judged by their monotonic time stamp.
"""
from __future__ import annotations

import collections
import math
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Iterator

from agrifleet.core.errors import CommandRejected, ConnectionLost, DriverError, DriverTimeout
from agrifleet.core.plan import Plan

__all__ = ["Capabilities", "CommandRejected", "ConnectionLost", "Driver", "DriverError", "DriverTimeout",
           "GnssQuality", "MissionState", "TelemetrySample", "drain_samples"]


class GnssQuality(IntEnum):
    """Position fix quality, worst to best. Values travel on the wire."""

    NONE = 0
    SINGLE = 1      # stand-alone GNSS, metre level
    DGPS = 2
    RTK_FLOAT = 3   # decimetre level
    RTK_FIXED = 4   # centimetre level


class MissionState(IntEnum):
    """Where the vehicle is in its mission. Values travel on the wire."""

    IDLE = 0        # no plan, or plan uploaded and not started
    ACTIVE = 1
    PAUSED = 2
    COMPLETE = 3
    ABORTED = 4
    RETURNING = 5   # returning home (commanded or failsafe)
    FAILED = 6


@dataclass(frozen=True, slots=True)
class TelemetrySample:
    """One reading of the vehicle. Positions are in the local frame of the uploaded plan when there is
    one (``x``/``y``), and WGS84 when the vehicle reports it (``lat_deg``/``lon_deg``); unknown is NaN."""

    t_mono_s: float                      # monotonic receive time on the agent
    x: float = math.nan
    y: float = math.nan
    z: float = math.nan                  # height above ground / home, m
    lat_deg: float = math.nan
    lon_deg: float = math.nan
    heading_rad: float = math.nan        # CCW from east
    speed_mps: float = math.nan
    battery_pct: float = math.nan
    tank_l: float = math.nan
    mode: str = ""
    armed: bool = False
    gnss: GnssQuality = GnssQuality.NONE
    mission: MissionState = MissionState.IDLE
    plan_index: int = -1                 # last plan sample reached (index into the uploaded Plan)
    sections: int = 0


def drain_samples(cond: threading.Condition, samples: collections.deque[TelemetrySample],
                  timeout_s: float) -> Iterator[TelemetrySample]:
    """Take every sample queued under ``cond``, waiting up to ``timeout_s`` for one when none is: what
    :meth:`Driver.telemetry` returns for a driver whose receiving thread queues its readings."""
    with cond:
        if not samples and timeout_s > 0:
            cond.wait(timeout_s)
        out = list(samples)
        samples.clear()
    return iter(out)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a driver and its vehicle can do, for the fleet manager's assignment by capability."""

    kinds: frozenset[str] = frozenset()          # vehicle kinds it drives: tractor, rover, multirotor
    features: frozenset[str] = frozenset()       # e.g. {"spray", "seed", "reverse", "pause"}
    max_mission_items: int = 0                   # 0 = no limit the driver knows of
    extra: dict[str, Any] = field(default_factory=dict)


class Driver(ABC):
    """Base class of vehicle drivers. Methods block until the vehicle confirmed, or raise a DriverError."""

    name: ClassVar[str] = ""

    def __init__(self, vehicle_id: str, url: str | None = None, **options: Any) -> None:
        self.vehicle_id = vehicle_id
        self.url = url
        self.options = options

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def connect(self, timeout_s: float = 10.0) -> None:
        """Open the link and identify the vehicle; raises DriverTimeout or ConnectionLost."""

    @abstractmethod
    def upload(self, plan: Plan, start_index: int = 0) -> None:
        """Hand ``plan`` to the vehicle, to be driven from sample ``start_index`` (resume after a break)."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def pause(self) -> None: ...

    @abstractmethod
    def resume(self) -> None: ...

    @abstractmethod
    def abort(self) -> None:
        """Stop the mission and hold position; implements off."""

    @abstractmethod
    def return_home(self) -> None: ...

    def estop(self) -> None:
        """Emergency stop: the fastest safe halt the vehicle offers. Defaults to ``abort``."""
        self.abort()

    @abstractmethod
    def telemetry(self, timeout_s: float = 0.0) -> Iterator[TelemetrySample]:
        """Samples received since the last call; waits up to ``timeout_s`` for the first one."""

    @abstractmethod
    def close(self) -> None:
        """Release the link. Safe to call twice."""
