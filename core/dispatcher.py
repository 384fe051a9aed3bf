"""The dispatcher process: bus + store + fleet manager, served by one thread.

``agrifleet serve`` runs it in the foreground; tests and the demo run it in-process with
``Dispatcher(...).start()`` / ``stop()``. All sockets and the database belong to the dispatcher's thread;
other threads reach it through :meth:`Dispatcher.call` (the same operations an operator's ``REQUEST``
asks for), so nothing needs a lock.

Whatever a peer sends, the loop keeps serving: a frame that does not decode is counted and dropped by the
bus, and a message that decodes but cannot be served gets an ``ERROR`` answer and a count here.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import shapely

from .bus import BusConfig, Inbound, LogThrottle, ServerBus
from .errors import AgrifleetError, ConfigError, PlanError
from .fleet import FleetManager, implement_requirements
from .keys import Role, load_server
from .messages import (
    Command,
    CommandAck,
    CommandCode,
    Error,
    Event,
    FleetState,
    Hello,
    PlanAck,
    PlanChunk,
    Progress,
    Reply,
    Request,
    Telemetry,
    Welcome,
)
from .plan_io import plans_from_msgpack
from .store import JobState, Store

__all__ = ["OPS", "Dispatcher", "DispatcherConfig"]

logger = logging.getLogger(__name__)

OPS = ("ping", "submit", "list", "status", "pause", "resume", "abort", "command", "vehicles", "stats")


@dataclass(slots=True)
class _Wait:
    """An operator request answered once its vehicles acknowledged the commands it caused."""

    rid: bytes
    ref: int
    pending: set[tuple[str, int]]
    result: Any
    deadline: float
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DispatcherConfig:
    bind: str = "tcp://127.0.0.1:5755"
    pub_bind: str | None = "tcp://127.0.0.1:5756"
    db: str = "agrifleet.db"
    keys_dir: str | None = None
    bus: BusConfig = field(default_factory=BusConfig)
    replan_after_s: float = 10.0        # a vehicle silent this long loses its unfinished work
    state_every_s: float = 1.0          # fleet snapshot on the PUB socket
    telemetry_every_s: float = 1.0      # telemetry rows kept per vehicle (downsampling)
    chunk_bytes: int = 1 << 20          # plan chunk size

    def __post_init__(self) -> None:
        if not (math.isfinite(self.replan_after_s) and self.replan_after_s >= 0):
            raise ConfigError(f"replan_after_s = {self.replan_after_s!r} must be >= 0")
        if not 1024 <= self.chunk_bytes <= 8 << 20:
            raise ConfigError(f"chunk_bytes = {self.chunk_bytes} must be within [1 KiB, 8 MiB]")


def send_plan_chunks(bus: Any, vehicle: str, mission: int, job: int, plan_bytes: bytes, start_index: int,
                     chunk_bytes: int) -> None:
    """Send a stored plan to ``vehicle`` as acknowledged ``PlanChunk`` messages of ``chunk_bytes`` each,
    every one carrying the whole plan's size and CRC (the agent reassembles and checks it)."""
    size, crc = len(plan_bytes), zlib.crc32(plan_bytes)
    n = max(1, -(-size // chunk_bytes))
    for k in range(n):
        bus.send(vehicle, PlanChunk(mission=mission, job=job, chunk=k, n_chunks=n, size=size, crc32=crc,
                                    start_index=start_index, data=plan_bytes[k * chunk_bytes:(k + 1) * chunk_bytes]),
                 reliable=True)


class Dispatcher:
    """The serve process. Implements the fleet manager's :class:`~agrifleet.core.fleet.FleetLink`."""

    def __init__(self, config: DispatcherConfig = DispatcherConfig(), clock: Callable[[], float] = time.monotonic,
                 planner: Callable[[], Any] | None = None) -> None:
        self.config, self.clock = config, clock
        self.session = uuid.uuid4().hex[:16]
        keys = load_server(config.keys_dir) if config.keys_dir else None
        self.bus = ServerBus(config.bind, config.pub_bind, keys, config.bus, clock)
        self._planner = planner
        self.store: Store | None = None
        self.fleet: FleetManager | None = None
        self.handler_errors = 0
        self.served = 0
        self._calls: queue.Queue[tuple[Request, queue.Queue[Any]]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._peer_log = LogThrottle(logger, clock=clock)
        self._waits: list[_Wait] = []
        self._sent_commands: list[tuple[str, int]] | None = None

    # --- life ----------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.bus.endpoint

    @property
    def pub_endpoint(self) -> str:
        return self.bus.pub_endpoint

    def _open(self) -> None:
        self.store = Store(self.config.db)
        self.bus.start()
        self.fleet = FleetManager(self.store, self, self.clock, self.config.replan_after_s,
                                  self.config.telemetry_every_s, self._planner)
        logger.info("dispatcher %s serving %s, database %s", self.session, self.endpoint, self.config.db)

    def start(self) -> Dispatcher:
        """Run in a background thread; returns once the sockets are bound."""
        self._thread = threading.Thread(target=self._thread_main, name="agrifleet-dispatcher", daemon=True)
        self._thread.start()
        self._ready.wait(30.0)
        if self._failure is not None:
            raise self._failure
        return self

    def _thread_main(self) -> None:
        try:
            self._open()
        except BaseException as exc:  # surfaced to start()'s caller
            self._failure = exc
            self._ready.set()
            self.bus.close()
            return
        self._ready.set()
        try:
            self._loop()
        finally:
            self._close()

    def run(self) -> None:
        """Serve in the calling thread until :meth:`stop` (the CLI's foreground mode)."""
        self._open()
        self._ready.set()
        try:
            self._loop()
        finally:
            self._close()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _close(self) -> None:
        self.bus.close()
        if self.store is not None:
            self.store.close()

    # --- the loop ------------------------------------------------------------------------------------
    def _loop(self) -> None:
        cfg = self.config
        tick_every = min(cfg.bus.heartbeat_s, cfg.bus.resend_s) / 4
        next_tick = next_state = self.clock()
        while not self._stop.is_set():
            for inbound in self.bus.receive(min(0.05, tick_every)):    # served as read
                self._serve_safely(inbound)
            while True:
                try:
                    request, answer = self._calls.get_nowait()
                except queue.Empty:
                    break
                answer.put(self._reply(request, None))
            now = self.clock()
            if now >= next_tick:
                next_tick = now + tick_every
                for vehicle in self.bus.tick():
                    self.fleet.on_lost(vehicle)  # type: ignore[union-attr]
                self._guard(self.fleet.tick)  # type: ignore[union-attr]
                self._expire_waits(now)
            if now >= next_state and self.bus.pub is not None:
                next_state = now + cfg.state_every_s
                vehicles, jobs = self.fleet.snapshot()  # type: ignore[union-attr]
                for v in vehicles:
                    v["connected"] = self.bus.connected(v["id"])
                self.bus.publish("state", FleetState(t_s=now, vehicles=vehicles, jobs=jobs))

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # the fleet's bug must not stop the fleet; it is logged with its traceback
            self.handler_errors += 1
            logger.exception("fleet tick failed")

    def _serve_safely(self, inbound: Inbound) -> None:
        self.served += 1
        try:
            self._serve(inbound)
        except AgrifleetError as exc:
            self.handler_errors += 1
            self._peer_log.warning("cannot serve %s from %s: %s", inbound.msg.KIND.name.lower(),
                                   inbound.vehicle or inbound.rid.hex(), exc)
            self.bus.reply(inbound.rid, Error(ref=inbound.msg.id, code=exc.code, text=str(exc)[:4000]))
        except Exception as exc:
            self.handler_errors += 1
            logger.exception("error serving %s", inbound.msg.KIND.name.lower())
            self.bus.reply(inbound.rid, Error(ref=inbound.msg.id, code="internal", text=type(exc).__name__))

    def _serve(self, inbound: Inbound) -> None:
        msg, vehicle, fleet = inbound.msg, inbound.vehicle, self.fleet
        assert fleet is not None
        if isinstance(msg, Request):
            reply = self._reply(msg, inbound)
            if reply is not None:
                self.bus.reply(inbound.rid, reply)
            return
        if vehicle is None:
            return
        if isinstance(msg, Telemetry):
            fleet.on_telemetry(vehicle, msg)
        elif isinstance(msg, Hello):
            self.bus.send(vehicle, Welcome(ref=msg.id, session=self.session, heartbeat_s=self.config.bus.heartbeat_s))
            fleet.on_hello(vehicle, msg.vehicle_kind, msg.driver, msg.kinds, msg.features, msg.spec, msg.mission,
                           msg.index, msg.state, inbound.new_session)
        elif isinstance(msg, Progress):
            if fleet.on_progress(vehicle, msg.mission, msg.index, msg.state, msg.coverage):
                self.bus.ack(inbound)
            self.bus.publish("progress", msg)
        elif isinstance(msg, PlanAck):
            fleet.on_plan_ack(vehicle, msg.mission, msg.complete, msg.ok, msg.reason)
        elif isinstance(msg, CommandAck):
            self._confirmed(vehicle, msg.ref, msg.ok, msg.result)     # the operator first, bookkeeping after
            fleet.on_command_ack(vehicle, msg.ref, msg.command, msg.ok, msg.result)
        elif isinstance(msg, Event):
            fleet.on_event(vehicle, msg.mission, msg.code, msg.severity, msg.text)
            self.bus.ack(inbound)
            self.bus.publish("event", msg)
        elif isinstance(msg, Error):
            self._peer_log.warning("vehicle %s reports an error: %s %s", vehicle, msg.code, msg.text)
        else:
            raise ConfigError(f"{msg.KIND.name.lower()} is not something an agent sends")

    # --- FleetLink ---------------------------------------------------------------------------------------
    def send_plan(self, vehicle: str, mission: int, job: int, plan_bytes: bytes, start_index: int) -> None:
        send_plan_chunks(self.bus, vehicle, mission, job, plan_bytes, start_index, self.config.chunk_bytes)

    def send_command(self, vehicle: str, mission: int, command: CommandCode) -> int:
        msg_id = self.bus.send(vehicle, Command(command=command, mission=mission), reliable=True)
        if self._sent_commands is not None:
            self._sent_commands.append((vehicle, msg_id))
        return msg_id

    def forget(self, vehicle: str) -> None:
        self.bus.forget(vehicle)

    # --- operator requests -------------------------------------------------------------------------------
    def call(self, op: str, timeout_s: float = 30.0, **args: Any) -> Any:
        """Serve one operator operation from another thread (in-process use); raises like a refused request."""
        answer: queue.Queue[Any] = queue.Queue()
        self._calls.put((Request(op=op, args=args), answer))
        try:
            reply = answer.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"dispatcher did not serve {op!r} within {timeout_s} s") from None
        if not reply.ok:
            raise ConfigError(reply.error)
        return reply.result

    def _reply(self, msg: Request, inbound: Inbound | None) -> Reply | None:
        """The answer to a request; ``None`` when it waits for the vehicles' acknowledgements (``wait``)."""
        if inbound is not None and self.bus.ring is not None:
            p = inbound.principal
            if p is None or p.role is not Role.OPERATOR:
                return Reply(ref=msg.id, ok=False, error=f"{p.name if p else 'this key'} is not an operator key")
        self._sent_commands = []
        try:
            result = self._op(msg.op, msg.args)
            sent = self._sent_commands
            if inbound is not None and msg.args.get("wait") and sent:
                timeout_s = float(msg.args.get("timeout_s", 10.0))
                self._waits.append(_Wait(inbound.rid, msg.id, set(sent), result, self.clock() + timeout_s))
                return None
            return Reply(ref=msg.id, ok=True, result=result)
        except AgrifleetError as exc:
            return Reply(ref=msg.id, ok=False, error=str(exc))
        except (KeyError, TypeError, ValueError) as exc:
            return Reply(ref=msg.id, ok=False, error=f"{msg.op}: bad arguments ({type(exc).__name__}: {exc})")
        finally:
            self._sent_commands = None

    def _confirmed(self, vehicle: str, ref: int, ok: bool, result: str) -> None:
        """A vehicle acknowledged a command: answer the requests that waited for it."""
        for wait in list(self._waits):
            if (vehicle, ref) in wait.pending:
                wait.pending.discard((vehicle, ref))
                if not ok:
                    wait.failures.append(f"{vehicle}: {result}")
                if not wait.pending:
                    self._waits.remove(wait)
                    self.bus.reply(wait.rid, Reply(ref=wait.ref, ok=not wait.failures, result=wait.result,
                                                   error="; ".join(wait.failures)))

    def _expire_waits(self, now: float) -> None:
        for wait in [w for w in self._waits if now > w.deadline]:
            self._waits.remove(wait)
            silent = ", ".join(sorted({v for v, _ in wait.pending}))
            self.bus.reply(wait.rid, Reply(ref=wait.ref, ok=False, error=f"no confirmation from {silent} in time"))

    def _op(self, op: str, args: dict[str, Any]) -> Any:
        fleet = self.fleet
        assert fleet is not None
        if op == "ping":
            return {"session": self.session, "endpoint": self.endpoint, "pub": self.pub_endpoint}
        if op == "submit":
            return self._submit(args)
        if op == "list":
            return fleet.jobs_summary()
        if op == "status":
            return fleet.job_status(int(args["job"]))
        if op in ("pause", "resume", "abort"):
            vehicle = args.get("vehicle")
            if vehicle:
                if op == "abort":
                    fleet.abort_vehicle(str(vehicle))
                else:
                    fleet.hold(str(vehicle), op == "pause")
                return {"vehicle": vehicle}
            job = args.get("job")
            state = {"pause": JobState.PAUSED, "resume": JobState.ACTIVE, "abort": JobState.ABORTED}[op]
            return {"jobs": fleet.set_job(state, int(job) if job is not None else None)}
        if op == "command":
            vehicle, name = str(args["vehicle"]), str(args["command"]).upper()
            if name not in ("RETURN_HOME", "ESTOP"):
                raise ConfigError(f"command {name.lower()!r}: use pause/resume/abort, or return_home/estop")
            if name == "ESTOP":
                fleet.abort_vehicle(vehicle, estop=True)
            else:
                fleet.return_home(vehicle)
            return {"vehicle": vehicle, "command": name.lower()}
        if op == "vehicles":
            return [dict(v.summary(), connected=self.bus.connected(v.id)) for v in fleet.vehicles.values()]
        if op == "stats":
            return {"bus": self.bus.counters.as_dict(), "served": self.served, "handler_errors": self.handler_errors}
        raise ConfigError(f"unknown operation {op!r} (expected one of {', '.join(OPS)})")

    def _submit(self, args: dict[str, Any]) -> dict[str, Any]:
        fleet = self.fleet
        assert fleet is not None
        vehicles = [str(v) for v in args.get("vehicles") or []]
        if not vehicles:
            raise ConfigError("submit: no vehicles given")
        name = str(args.get("name") or "job")
        params = dict(args.get("params") or {})
        if args.get("plans") is not None:
            plans = plans_from_msgpack(bytes(args["plans"]), "submitted plans")
            if len(plans) != len(vehicles):
                raise PlanError(f"submit: {len(plans)} plan(s) for {len(vehicles)} vehicle(s); give one per vehicle")
            by_vehicle = dict(zip(vehicles, plans))
            implement = str(args.get("implement") or plans[0].implement)
            field_blob = None
            params["requires"] = sorted(implement_requirements(implement)) if args.get("implement") else []
        else:
            by_vehicle, implement, field_blob, params = fleet.plan_field(args.get("field"), str(args.get("implement") or ""),
                                                                        vehicles, params)
        job = fleet.submit_plans(name, by_vehicle, implement, field_blob, params)
        return {"job": job, "vehicles": list(by_vehicle),
                "samples": {v: len(p) for v, p in by_vehicle.items()}}


def field_to_wire(boundary: shapely.Geometry, frame: dict[str, float] | None, name: str) -> dict[str, Any]:
    """A field as a request argument (boundary as WKB in local metres, frame for geographic output)."""
    return {"name": name, "boundary_wkb": shapely.to_wkb(boundary), "frame": frame}
