"""A simulated tractor ECU: the tractor end of the tractor link (``docs/tractor_link.md``) over real UDP.

It is the simulated tractor's controller in a :class:`~agrifleet.sim.world.World`: commands received from
the network become the tractor's :class:`GroundControl` at the next control tick, and the tractor's sensed
state (its GNSS receiver and heading sensor, not the truth) goes back as STATE messages at the state rate.
Like a real ECU it is safe by default: it follows commands only while they are *engaged* and *fresh*; a
watchdog stops the tractor and switches the implement off when commands stop coming, and an e-stop
latches until reset. Time for the watchdog and the state rate is the world's clock.

Commands are read at the top of every control tick, on the world's own thread, as a real ECU's main loop
polls its bus each cycle (a thread serves the socket too, so HELLO and e-stops are answered while the
world stands still). A command's freshness is therefore judged against the simulated time at which the
ECU read it, never against when a thread of this process happened to get the interpreter: a world paced
at x50 runs its 0.5 s watchdog in 10 ms of wall time, shorter than a Python thread switch, and a
watchdog judged on thread timing would trip on the machine's scheduling rather than on the driver. Older
commands overtaken by a newer one from the same driver (two readers of one socket) are dropped by ``seq``.

With ``hold_s`` > 0 (paced simulations) the ECU also keeps the simulation from outrunning its driver: when
an engaged tractor's last command is half a watchdog old, the ECU holds the world's step for up to
``hold_s`` of wall time until the next command arrives. A driver process the host has not scheduled for a
few milliseconds is then a pause of the simulation, not seconds of blind driving of the simulated tractor;
a driver that stays silent through a hold trips the watchdog as it should (and is not waited for again
until it speaks).
"""
from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from agrifleet.core.errors import ProtocolError
from agrifleet.core.vehicle import GroundControl, VehicleState
from agrifleet.drivers.base import GnssQuality
from agrifleet.drivers.tractor_link import EcuFault, LinkMsg, decode, encode

from .sensors import Gnss, HeadingSensor, TankSensor
from .world import World

__all__ = ["TractorEcu"]

logger = logging.getLogger(__name__)


class TractorEcu:
    """Serves one tractor of ``world`` on a UDP port (``port=0`` picks a free one; see :attr:`address`)."""

    def __init__(self, world: World, vehicle_id: str, *, host: str = "127.0.0.1", port: int = 0,
                 state_period_s: float = 0.05, watchdog_s: float = 0.5, control_period_s: float = 0.05,
                 gnss: Gnss | None = None, hold_s: float = 0.0,
                 wall_clock: Callable[[], float] = time.monotonic) -> None:
        self.world = world
        self.vehicle_id = vehicle_id
        model = world.model(vehicle_id)
        spec = model.spec
        self.spec = spec
        self.state_period_s = state_period_s
        self.watchdog_s = watchdog_s
        self.control_period_s = control_period_s
        rng = world.spawn_rng()
        self.gnss = gnss if gnss is not None else Gnss(rng, frame=world.frame)
        self.heading = HeadingSensor(rng, gnss=self.gnss)
        self.tank = TankSensor(rng, spec)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.setblocking(False)   # two readers: this thread and the world's (see the module doc)
        self.bad_datagrams = 0
        self._lock = threading.Lock()
        self._peer: Any = None
        self._seq = 0
        self._cmd = GroundControl()
        self._engage = False
        self._cmd_t = -math.inf
        self._cmd_seq: tuple[Any, int] = (None, -1)     # peer and seq of the command in force
        self._estop = False
        self._next_state_t = -math.inf
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.fault = EcuFault.NONE
        self.watchdog_trips = 0         # times the watchdog stopped an engaged tractor
        self.hold_s = hold_s
        self.held_s = 0.0               # wall time spent holding the world for the driver
        self.holds = 0
        self._wall = wall_clock
        self._gave_up_on = math.nan     # the command time a hold ran out on
        world.set_controller(vehicle_id, self._control, control_period_s)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    @property
    def url(self) -> str:
        host, port = self.address
        return f"udp://{host}:{port}"

    def start(self, *, step_world: bool = False, real_time_factor: float | None = 1.0) -> "TractorEcu":
        """Start serving; with ``step_world`` also step the world in a thread at ``real_time_factor``."""
        t = threading.Thread(target=self._serve, name=f"ecu-{self.vehicle_id}", daemon=True)
        t.start()
        self._threads.append(t)
        if step_world:
            w = threading.Thread(target=self._step_world, args=(real_time_factor,), daemon=True,
                                 name=f"ecu-world-{self.vehicle_id}")
            w.start()
            self._threads.append(w)
        return self

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5.0)
        self._threads.clear()
        self.sock.close()

    def _step_world(self, rtf: float | None) -> None:
        while not self._stop.is_set():
            self.world.run(0.1, real_time_factor=rtf)

    # --- network side -------------------------------------------------------------------------------------
    def _send(self, kind: LinkMsg, peer: Any, **fields: Any) -> None:
        if peer is None:
            return
        with self._lock:
            self._seq += 1
            seq = self._seq
        try:
            self.sock.sendto(encode(kind, seq, **fields), peer)
        except OSError as exc:  # the peer went away; keep serving
            logger.debug("ecu %s: send to %s failed: %s", self.vehicle_id, peer, exc)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.1)
            except (OSError, ValueError):   # closed
                return
            if ready:
                self._drain()

    def _drain(self) -> None:
        """Handle whatever waits on the (non-blocking) socket; called by both readers."""
        while True:
            try:
                data, peer = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:    # closed under us
                return
            self._datagram(data, peer)

    def _datagram(self, data: bytes, peer: Any) -> None:
        try:
            kind, msg = decode(data)
        except ProtocolError as exc:
            self.bad_datagrams += 1
            logger.warning("ecu %s: dropped a bad datagram from %s: %s", self.vehicle_id, peer, exc)
            return
        self._handle(kind, msg, peer)

    def _handle(self, kind: LinkMsg, msg: dict[str, Any], peer: Any) -> None:
        now = self.world.t_s
        if kind is LinkMsg.HELLO:
            with self._lock:
                self._peer = peer
                self._cmd_seq = (None, -1)     # a (re)connecting driver counts from anew
            spec = self.spec
            lag = spec.hitch_offset_m + spec.implement_offset_m
            self._send(LinkMsg.IDENT, peer, vid=self.vehicle_id, wheelbase_m=spec.wheelbase_m,
                       max_steer_rad=spec.max_steer_rad, max_speed_mps=spec.max_speed_mps,
                       implement_lag_m=lag, reverse=spec.reverse_allowed,
                       crs="wgs84" if self.gnss.frame is not None else "local")
            self._send(LinkMsg.ACK, peer, ack=msg["seq"], ok=True)
        elif kind is LinkMsg.COMMAND:
            with self._lock:
                last_peer, last_seq = self._cmd_seq
                if peer == last_peer and int(msg["seq"]) <= last_seq:
                    return           # overtaken by a newer command the other reader took first
                self._cmd_seq = (peer, int(msg["seq"]))
                self._peer = peer
                self._cmd = GroundControl(float(msg["steer"]), float(msg["speed"]),
                                          int(msg["sections"]) & 0xFFFFFFFF)
                self._engage = bool(msg["engage"])
                self._cmd_t = now
        elif kind is LinkMsg.ESTOP:
            with self._lock:
                self._estop = True
            self._send(LinkMsg.ACK, peer, ack=msg["seq"], ok=True)
            logger.warning("ecu %s: e-stop", self.vehicle_id)
        elif kind is LinkMsg.RESET:
            with self._lock:
                self._estop = False
            self._send(LinkMsg.ACK, peer, ack=msg["seq"], ok=True)
        else:
            self.bad_datagrams += 1  # IDENT/STATE/ACK are the ECU's own kinds

    # --- world side (the tractor's controller) ------------------------------------------------------------
    def _await_driver(self, t_s: float) -> None:
        """Hold the world for an overdue command (see the module documentation)."""
        with self._lock:
            cmd_t = self._cmd_t
            overdue = self._engage and not self._estop and t_s - cmd_t > 0.5 * self.watchdog_s
        if not overdue or cmd_t == self._gave_up_on:
            return
        start = self._wall()
        self.holds += 1
        while self._cmd_t == cmd_t:       # a command read here or by the serving thread ends the hold
            left = start + self.hold_s - self._wall()
            if left <= 0:
                self._gave_up_on = cmd_t
                logger.info("ecu %s: no command for %.2f s of wall time; not waiting any more",
                            self.vehicle_id, self.hold_s)
                break
            try:
                select.select([self.sock], [], [], min(left, 0.005))
            except (OSError, ValueError):  # closed
                break
            self._drain()
        self.held_s += self._wall() - start

    def _control(self, t_s: float, state: VehicleState) -> GroundControl:
        self._drain()
        if self.hold_s > 0:
            self._await_driver(t_s)
        model = self.world.model(self.vehicle_id)
        with self._lock:
            cmd, engage, fresh = self._cmd, self._engage, t_s - self._cmd_t <= self.watchdog_s
            estop, peer = self._estop, self._peer
        if estop:
            self.fault = EcuFault.ESTOP
        elif engage and not fresh:
            if self.fault is not EcuFault.WATCHDOG:
                self.watchdog_trips += 1
                logger.info("ecu %s: watchdog at t=%.2f s (last command %.2f s before)", self.vehicle_id, t_s,
                            t_s - self._cmd_t)
            self.fault = EcuFault.WATCHDOG
        else:
            self.fault = EcuFault.NONE
        engaged = engage and fresh and not estop
        if engaged and not state.armed:
            model.arm()
        control = cmd if engaged else GroundControl(steer_rad=state.steer_rad)
        if t_s >= self._next_state_t:
            self._next_state_t = t_s + self.state_period_s - 1e-9
            self._report(t_s, state, engaged, peer)
        return control

    def _report(self, t_s: float, state: VehicleState, engaged: bool, peer: Any) -> None:
        fix = self.gnss.read(state)
        heading = self.heading.read(state)
        pos: dict[str, float] = {}
        if fix.valid and self.gnss.frame is not None:
            pos = {"lat": fix.lat_deg, "lon": fix.lon_deg, "z": fix.z}
        else:
            pos = {"x": fix.x, "y": fix.y, "z": fix.z}
        fault = self.fault if (self.fault is not EcuFault.NONE or fix.valid) else EcuFault.NO_FIX
        tank = self.tank.read(state)
        self._send(LinkMsg.STATE, peer, t=t_s, heading=0.0 if math.isnan(heading) else heading,
                   speed=state.speed_mps, steer=state.steer_rad, sections=state.sections,
                   gnss=int(fix.quality) if not math.isnan(heading) else int(GnssQuality.NONE),
                   engaged=engaged, fault=int(fault), tank=0.0 if math.isnan(tank) else tank, **pos)
