"""Run simulated autopilots: pace the world against the wall clock and serve their MAVLink links.

One thread does everything, in the style of a real autopilot's scheduler: it steps the world whenever the
simulated clock is due (``speed_factor`` simulated seconds per wall second) and, in between, blocks in
``select`` on every link until a datagram arrives or the next step is due. Requests are therefore answered
the moment they arrive (a mission upload runs at the speed of the ground station, not of the physics), and
an idle vehicle costs no CPU between steps. When the machine cannot keep up, the world runs as fast as it
can and the links are still served between bursts of steps; :class:`RunStats` says what was achieved.
"""
from __future__ import annotations

import logging
import math
import selectors
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from agrifleet.core.errors import ConfigError

if TYPE_CHECKING:
    from .autopilot import SimAutopilot
    from .world import World

__all__ = ["RunStats", "Runner"]

logger = logging.getLogger(__name__)

MAX_STEPS_PER_BURST = 40      # physics steps between two looks at the sockets when running behind


@dataclass(frozen=True, slots=True)
class RunStats:
    sim_s: float
    wall_s: float
    steps: int
    messages: int

    @property
    def speed_factor(self) -> float:
        """Achieved simulated seconds per wall second."""
        return self.sim_s / self.wall_s if self.wall_s > 0 else math.inf


class Runner:
    """Paces ``world`` at ``speed_factor`` x real time (``math.inf``: as fast as possible)."""

    def __init__(self, world: "World", autopilots: Sequence["SimAutopilot"], speed_factor: float = 1.0,
                 wall_clock: Callable[[], float] = time.monotonic) -> None:
        if not speed_factor > 0:
            raise ConfigError(f"speed factor {speed_factor!r} must be > 0")
        self.world = world
        self.autopilots = list(autopilots)
        self.speed_factor = float(speed_factor)
        self._clock = wall_clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats: RunStats | None = None
        self.error: BaseException | None = None

    # -- socket bookkeeping --------------------------------------------------------------------------
    def _register(self, sel: selectors.BaseSelector) -> dict[int, tuple["SimAutopilot", object]]:
        fds: dict[int, tuple["SimAutopilot", object]] = {}
        for ap in self.autopilots:
            for link in ap.links:
                fd = link.fileno()
                if fd >= 0 and fd not in fds:
                    fds[fd] = (ap, link)
                    sel.register(fd, selectors.EVENT_READ, (ap, link))
        return fds

    def _fds_changed(self, fds: dict[int, tuple["SimAutopilot", object]]) -> bool:
        return any(link.fileno() not in fds for ap in self.autopilots for link in ap.links)

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, duration_s: float = math.inf, until: Callable[[], bool] | None = None) -> RunStats:
        """Run until ``duration_s`` of simulated time has passed, ``until()`` is true, or :meth:`stop`."""
        world = self.world
        dt = world.dt_s
        k = self.speed_factor
        sel = selectors.DefaultSelector()
        fds = self._register(sel)
        t0, wall0 = world.t_s, self._clock()
        steps = handled = 0
        try:
            while not self._stop.is_set():
                if world.t_s - t0 >= duration_s - 1e-9 or (until is not None and until()):
                    break
                wall = self._clock()
                target = t0 + (wall - wall0) * k if math.isfinite(k) else math.inf
                burst = 0
                while world.t_s + dt <= target + 1e-9 and burst < MAX_STEPS_PER_BURST:
                    world.step()
                    burst += 1
                    if world.t_s - t0 >= duration_s - 1e-9:
                        break
                steps += burst
                if burst >= MAX_STEPS_PER_BURST or not math.isfinite(k):
                    timeout = 0.0
                else:
                    timeout = max(0.0, wall0 + (world.t_s + dt - t0) / k - self._clock())
                for key, _ in sel.select(timeout):
                    ap, link = key.data
                    handled += ap.service(link)  # type: ignore[arg-type]
                for ap in self.autopilots:
                    ap.tick_protocol()
                if self._fds_changed(fds):
                    sel.close()
                    sel = selectors.DefaultSelector()
                    fds = self._register(sel)
        finally:
            sel.close()
        self.stats = RunStats(world.t_s - t0, self._clock() - wall0, steps, handled)
        return self.stats

    def request_stop(self) -> None:
        """Ask :meth:`run` to return after the current iteration (safe from a signal handler)."""
        self._stop.set()

    def start(self, duration_s: float = math.inf) -> "Runner":
        """Run in a background thread (tests, embedding); :meth:`stop` ends it."""
        def target() -> None:
            try:
                self.run(duration_s)
            except BaseException as exc:  # surfaced by stop()  # noqa: BLE001
                self.error = exc
                logger.exception("autopilot runner failed")
        self._stop.clear()
        self._thread = threading.Thread(target=target, name="agrifleet-autopilot", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> RunStats | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self.error is not None:
            raise self.error
        return self.stats
