"""Mission execution: which item is current, what the vehicle does for it, and what it reports.

The executor walks the stored items from the first flown seq (1 on ArduPilot, whose seq 0 is home; 0 on
PX4). A run of consecutive ``NAV_WAYPOINT`` items becomes one path to follow (:class:`PathMotion`), so a
dense planned polyline is driven without stopping at every vertex; it ends at a waypoint with a hold time,
at any other navigation command, at a ``DO_JUMP``, or at the end. ``DO_*`` items between two waypoints are
carried out when the waypoint before them is passed, which is when ArduPilot and PX4 run them too.

Every item gets a ``MISSION_ITEM_REACHED`` (DO items included, as ground stations count on the last one),
and every change of the current item is reported at once (MAVSDK reports progress only on changes; MAVProxy
prints "waypoint N"). A drone that is on the ground when a mission starts without a take-off item climbs to
the first waypoint's height (at least the take-off height) first: the simulator accepts ArduPilot-style
missions with ``NAV_TAKEOFF`` and PX4-style ones without.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from agrifleet.core.vehicle import VehicleSpec

from ._mav_guidance import Climb, Estimate, Hold, Land, Motion, PathMotion
from ._mav_mission import MissionItem
from ._mav_proto import MavCmd, MissionState

__all__ = ["MissionExecutor", "MissionHooks"]

logger = logging.getLogger(__name__)

MAX_ITEMS_PER_UPDATE = 256     # DO items (and jumps) processed in one control tick, at most
NAV_COMMANDS = frozenset({MavCmd.NAV_WAYPOINT, MavCmd.NAV_LOITER_UNLIM, MavCmd.NAV_LOITER_TIME,
                          MavCmd.NAV_RETURN_TO_LAUNCH, MavCmd.NAV_LAND, MavCmd.NAV_TAKEOFF})


class MissionHooks(Protocol):
    """What the executor needs from the autopilot."""

    speed_mps: float

    def setting(self, key: str, default: float = math.nan) -> float: ...
    def item_xyz(self, item: MissionItem) -> tuple[float, float, float] | None: ...
    def reached(self, seq: int) -> None: ...
    def current_changed(self, seq: int) -> None: ...
    def do_command(self, item: MissionItem) -> None: ...
    def return_motion(self) -> Motion: ...
    def landed_in_mission(self) -> None: ...


@dataclass(slots=True)
class _RunPoint:
    seq: int
    xyz: tuple[float, float, float]
    hold_s: float
    then: list[MissionItem] = field(default_factory=list)   # DO items carried out once it is passed


class MissionExecutor:
    """Runs the mission of one vehicle. Call :meth:`update` at the control rate while in AUTO."""

    def __init__(self, spec: VehicleSpec, first_seq: int, hooks: MissionHooks,
                 clock: Callable[[], float]) -> None:
        self.spec = spec
        self.air = not spec.kind.is_ground
        self.first_seq = first_seq
        self.hooks = hooks
        self._clock = clock
        self.items: tuple[MissionItem, ...] = ()
        self.seq = first_seq
        self.state = MissionState.NO_MISSION
        self._motion: Motion | None = None
        self._run: list[_RunPoint] = []
        self._passed = 0
        self._item_done: Callable[[], None] | None = None
        self._path: PathMotion | None = None
        self._jumps: dict[int, int] = {}

    # -- mission management --------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """Items that are flown (``MISSION_CURRENT.total``; ArduPilot's home is not counted)."""
        return max(0, len(self.items) - self.first_seq)

    def load(self, items: tuple[MissionItem, ...]) -> None:
        """A new mission. A running one keeps its place (clamped), as on ArduPilot and PX4."""
        self.items = items
        self._motion = None
        self._jumps.clear()
        if self.total == 0:
            self.state = MissionState.NO_MISSION
            self.seq = self.first_seq
        elif self.state in (MissionState.NO_MISSION, MissionState.COMPLETE):
            self.state = MissionState.NOT_STARTED
            self.seq = self.first_seq
        else:
            self.seq = min(max(self.seq, self.first_seq), len(items) - 1)
        self.hooks.current_changed(self.seq)

    def set_current(self, seq: int) -> bool:
        if not self.first_seq <= seq < len(self.items):
            return False
        self.seq = seq
        self._motion = None
        if self.state is MissionState.COMPLETE:
            self.state = MissionState.NOT_STARTED
        self.hooks.current_changed(seq)
        return True

    def start(self, from_seq: int | None = None) -> bool:
        """Run from ``from_seq`` (or resume at the current item; a finished mission restarts)."""
        if self.total == 0:
            return False
        if from_seq is not None and from_seq >= self.first_seq:
            self.set_current(from_seq)
        elif self.state is MissionState.COMPLETE:
            self._jumps.clear()
            self.set_current(self.first_seq)
        self.state = MissionState.ACTIVE
        self._motion = None
        return True

    def pause(self) -> None:
        if self.state is MissionState.ACTIVE:
            self.state = MissionState.PAUSED
        self._motion = None

    def interrupt(self) -> None:
        """The vehicle left AUTO: forget the motion, rebuild it from where the vehicle is on return."""
        self._motion = None

    # -- execution -----------------------------------------------------------------------------------
    def update(self, est: Estimate) -> Motion:
        """The motion for this control tick (call only while in AUTO and armed)."""
        if self.state is MissionState.PAUSED:
            self.state = MissionState.ACTIVE
        if self.state is MissionState.NOT_STARTED:
            self.state = MissionState.ACTIVE
        for _ in range(MAX_ITEMS_PER_UPDATE):
            motion = self._motion
            if motion is not None:
                if isinstance(motion, PathMotion) and motion is self._path:
                    self._advance_run(motion.passed)
                if not motion.done:
                    return motion
                done, self._item_done = self._item_done, None
                self._motion = None
                if done is not None:
                    done()          # may set the next motion (land after approach, hold after arrival)
                continue
            if self.state is MissionState.COMPLETE:
                return self._park(est)
            if self.seq >= len(self.items):
                self.state = MissionState.COMPLETE
                self.hooks.current_changed(self.seq - 1)
                logger.info("mission complete")
                return self._park(est)
            self._begin(self.items[self.seq], est)
        logger.warning("mission: more than %d items in one tick (a DO_JUMP loop?); holding",
                       MAX_ITEMS_PER_UPDATE)
        return self._park(est)

    def _park(self, est: Estimate) -> Motion:
        if not isinstance(self._motion, Hold):
            self._motion = Hold(self.air, est.x, est.y, 0.0 if est.landed else est.z)
        return self._motion

    def _next(self) -> None:
        self.seq += 1
        self._motion = None
        self._path = None
        if self.seq >= len(self.items):      # done now, even if nothing flies any more (landed, disarmed)
            self.state = MissionState.COMPLETE
            logger.info("mission complete")
            self.hooks.current_changed(self.seq - 1)
        else:
            self.hooks.current_changed(self.seq)

    def _begin(self, item: MissionItem, est: Estimate) -> None:
        """Start the current item: DO items act at once; NAV items get a motion."""
        cmd = item.command
        if cmd not in NAV_COMMANDS:
            self._do(item)
            return
        target = self.hooks.item_xyz(item)
        settings = self.hooks.setting
        climb = settings("climb_speed_mps", 2.5)
        if cmd == MavCmd.NAV_TAKEOFF:
            if not self.air:
                self._reach_and_next(item.seq)
                return
            given = target is not None and math.isfinite(target[2])
            z = target[2] if given else settings("takeoff_alt_m", 2.5)  # type: ignore[index]
            self._set(Climb(est.x, est.y, max(z, 1.0), climb), lambda: self._reach_and_next(item.seq))
            return
        if cmd == MavCmd.NAV_RETURN_TO_LAUNCH:       # a drone lands at home and disarms, as in RTL mode
            done = self._landed(item.seq) if self.air else (lambda: self._reach_and_next(item.seq))
            self._set(self.hooks.return_motion(), done)
            return
        if self.air and est.landed:
            z_first = target[2] if target is not None else 0.0
            z = max(settings("takeoff_alt_m", 2.5), z_first, 1.0)
            self._set(Climb(est.x, est.y, z, climb), None)     # implicit take-off; the item starts after it
            return
        if cmd == MavCmd.NAV_WAYPOINT:
            self._start_run(est)
            return
        goal = target if target is not None else (est.x, est.y, est.z)
        if cmd == MavCmd.NAV_LAND:
            if not self.air:
                self._go(est, goal, lambda: self._reach_and_next(item.seq))
                return
            land = settings("land_speed_mps", 0.7)
            self._go(est, (goal[0], goal[1], est.z),
                     lambda: self._set(Land(goal[0], goal[1], land), self._landed(item.seq)))
            return
        hold_s = item.param1 if cmd == MavCmd.NAV_LOITER_TIME and math.isfinite(item.param1) else math.inf
        self._go(est, goal, lambda: self._hold_then(goal, hold_s, item.seq))

    def _landed(self, seq: int) -> Callable[[], None]:
        def done() -> None:
            self._reach_and_next(seq)
            self.hooks.landed_in_mission()
        return done

    def _set(self, motion: Motion, on_done: Callable[[], None] | None) -> None:
        self._motion = motion
        self._item_done = on_done

    def _go(self, est: Estimate, xyz: tuple[float, float, float], on_done: Callable[[], None]) -> None:
        motion = PathMotion(self.spec, est, np.array([xyz]), [self.hooks.speed_mps])
        self._path = None
        self._set(motion, on_done)

    def _hold_then(self, xyz: tuple[float, float, float], hold_s: float, reached_seq: int | None) -> None:
        """Hold at ``xyz`` for ``hold_s`` (forever if infinite), then go on with the next item."""
        if reached_seq is not None:
            self.hooks.reached(reached_seq)
        self._set(_Timed(Hold(self.air, *xyz), self._clock, self._clock() + hold_s), self._next)

    def _reach_and_next(self, seq: int) -> None:
        self.hooks.reached(seq)
        self._next()

    # -- runs of waypoints ---------------------------------------------------------------------------
    def _start_run(self, est: Estimate) -> None:
        run: list[_RunPoint] = []
        speeds: list[float] = []
        speed = self.hooks.speed_mps
        seq = self.seq
        while seq < len(self.items):
            item = self.items[seq]
            if item.command == MavCmd.NAV_WAYPOINT:
                xyz = self.hooks.item_xyz(item) or (est.x, est.y, est.z)
                hold = item.param1 if math.isfinite(item.param1) and item.param1 > 0 else 0.0
                run.append(_RunPoint(seq, xyz, hold))
                speeds.append(speed)
                seq += 1
                if hold > 0:
                    break
            elif item.command in NAV_COMMANDS or item.command == MavCmd.DO_JUMP or not run:
                break
            else:
                run[-1].then.append(item)
                if item.command == MavCmd.DO_CHANGE_SPEED and item.param2 > 0 and item.param1 in (0, 1):
                    speed = item.param2
                seq += 1
        # DO items after the last waypoint of a run are executed (and reached) when it is passed, too.
        self._run = run
        self._passed = 0
        pts = np.array([p.xyz for p in run], dtype=float)
        if not self.air:
            pts[:, 2] = 0.0
        self._path = PathMotion(self.spec, est, pts, speeds)
        last = run[-1]
        hold = (lambda: self._hold_then(last.xyz, last.hold_s, None)) if last.hold_s > 0 else None
        self._set(self._path, hold)

    def _advance_run(self, passed: int) -> None:
        while self._passed < min(passed, len(self._run)):
            point = self._run[self._passed]
            self._passed += 1
            final = self._passed == len(self._run)
            self.hooks.reached(point.seq)
            for item in point.then:
                self.hooks.current_changed(item.seq)
                self.hooks.do_command(item)
                self.hooks.reached(item.seq)
            if final and point.hold_s > 0:
                continue     # it stays current while the vehicle waits there (a hold ends every run)
            self.seq = (point.then[-1].seq if point.then else point.seq) + 1
            if self.seq < len(self.items):
                self.hooks.current_changed(self.seq)

    def _do(self, item: MissionItem) -> None:
        if item.command == MavCmd.DO_JUMP:
            target = int(item.param1) if math.isfinite(item.param1) else -1
            left = self._jumps.get(item.seq, int(item.param2) if math.isfinite(item.param2) else 0)
            self.hooks.reached(item.seq)
            if left != 0 and self.first_seq <= target < len(self.items):
                self._jumps[item.seq] = left - 1 if left > 0 else left
                self.seq = target
                self._motion = None
                self.hooks.current_changed(target)
                return
            self._next()
            return
        self.hooks.do_command(item)
        self._reach_and_next(item.seq)


class _Timed(Motion):
    """A hold that is done at a given time."""

    def __init__(self, inner: Motion, clock: Callable[[], float], until_s: float) -> None:
        self.inner, self._clock, self.until_s = inner, clock, until_s

    def control(self, est: Estimate, sections: int):  # type: ignore[no-untyped-def]
        if self._clock() >= self.until_s:
            self.done = True
        return self.inner.control(est, sections)
