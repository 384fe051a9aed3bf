"""The fleet end of ``agrifleet demo``: CURVE keys, the dispatcher, and one agent process per vehicle.

Everything here is the production path, as a farm would run it: ``agrifleet keys gen``'s key folder in the
output folder, the dispatcher (:class:`~agrifleet.core.dispatcher.Dispatcher`, in this process) on loopback
TCP with CURVE encryption and the allow-list of vehicle keys, its SQLite store in the output folder, and
``agrifleet agent --driver tractor|mavlink ...`` processes that reach their vehicles over UDP and the
dispatcher over ZeroMQ. Jobs go in and progress comes out through the dispatcher's operator operations.

Agents are processes rather than threads: the command line is what a vehicle runs, and on a machine with
few cores the agents and their drivers (guidance, MAVLink parsing) then do not wait on the interpreter lock
of the process that steps the world. Their output goes to ``logs/<vehicle>.log``; each one is started
through :mod:`._demo_child`, so it ends when the demo does, however the demo ends.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agrifleet.core.dispatcher import Dispatcher, DispatcherConfig
from agrifleet.core.errors import ConfigError, DriverError, DriverTimeout
from agrifleet.core.keys import generate
from agrifleet.core.plan import Plan
from agrifleet.core.plan_io import plans_to_msgpack

__all__ = ["AgentProcess", "DemoFleet"]

logger = logging.getLogger(__name__)



@dataclass(slots=True)
class AgentProcess:
    vehicle: str
    command: str            # as a user would type it
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 6) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


class DemoFleet:
    """Keys, dispatcher and agents of one demo run in ``out`` (see the module documentation)."""

    def __init__(self, out: Path, vehicles: Sequence[str]) -> None:
        self.out = out
        self.keys_dir = out / "keys"
        self.db = out / "fleet.db"
        self.logs = out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        for stale in (self.db, Path(f"{self.db}-wal"), Path(f"{self.db}-shm")):
            try:
                stale.unlink()              # every run starts with an empty store
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise ConfigError(f"{stale}: cannot remove the last run's database ({exc.strerror})") \
                    from None
        generate(self.keys_dir, vehicles=list(vehicles), operators=["operator"])
        self.agents: dict[str, AgentProcess] = {}
        self.dispatcher = Dispatcher(DispatcherConfig(bind="tcp://127.0.0.1:0", pub_bind="tcp://127.0.0.1:0",
                                                      db=str(self.db), keys_dir=str(self.keys_dir))).start()

    @property
    def endpoint(self) -> str:
        return self.dispatcher.endpoint

    # --- agents -------------------------------------------------------------------------------------------
    def start_agent(self, vehicle: str, driver: str, connect: str,
                    options: Mapping[str, Any]) -> AgentProcess:
        args = ["agent", "--vehicle", vehicle, "--driver", driver, "--connect", connect, "--server",
                self.endpoint, "--keys", str(self.keys_dir)]
        for key, value in options.items():
            args += ["-o", f"{key}={value}"]
        log = self.logs / f"{vehicle}.log"
        argv = [sys.executable, "-m", "agrifleet.sim._demo_child", str(os.getpid()), *args]
        with open(log, "wb") as sink:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        agent = AgentProcess(vehicle, " ".join(["agrifleet", *args]), popen, log)
        self.agents[vehicle] = agent
        logger.info("started %s (pid %d)", agent.command, popen.pid)
        return agent

    def check_agents(self) -> None:
        """Raise :class:`DriverError` naming the first agent process that ended, with its last words."""
        for a in self.agents.values():
            if not a.alive():
                raise DriverError(f"agent {a.vehicle}", f"EXITED {a.popen.returncode}", a.tail())

    def wait_registered(self, vehicles: Sequence[str], timeout_s: float = 60.0) -> float:
        """Wait until every vehicle's agent has registered over its CURVE link; returns the wall time."""
        t0 = time.monotonic()
        while True:
            self.check_agents()
            seen = {v["id"]: v for v in self.dispatcher.call("vehicles")}
            missing = [v for v in vehicles if not (v in seen and seen[v]["online"] and seen[v]["connected"])]
            if not missing:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout_s:
                last = "; ".join(f"{v}: {self.agents[v].tail(2)}" for v in missing if v in self.agents)
                raise DriverTimeout("demo: agents registering", "TIMEOUT",
                                    f"{', '.join(missing)} not registered within {timeout_s:g} s ({last})")
            time.sleep(0.05)

    def stop_agents(self, timeout_s: float = 10.0) -> dict[str, int | None]:
        """SIGTERM every agent (they stop their drivers and leave), SIGKILL those that do not; exit codes."""
        for a in self.agents.values():
            if a.alive():
                a.popen.terminate()
        deadline = time.monotonic() + timeout_s
        codes: dict[str, int | None] = {}
        for vid, a in self.agents.items():
            try:
                codes[vid] = a.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("agent %s did not stop within %g s; killing it", vid, timeout_s)
                a.popen.kill()
                codes[vid] = a.popen.wait()
        return codes

    # --- operator operations ------------------------------------------------------------------------------
    def submit(self, name: str, plans: Mapping[str, Plan], implement: str) -> int:
        vehicles = list(plans)
        result = self.dispatcher.call("submit", name=name, vehicles=vehicles, implement=implement,
                                      plans=plans_to_msgpack([plans[v] for v in vehicles]))
        return int(result["job"])

    def jobs(self) -> list[dict[str, Any]]:
        return list(self.dispatcher.call("list"))

    def status(self, job: int) -> dict[str, Any]:
        return dict(self.dispatcher.call("status", job=job))

    def stats(self) -> dict[str, Any]:
        return dict(self.dispatcher.call("stats"))

    def close(self) -> None:
        """Stop the agents, then the dispatcher (idempotent)."""
        if self.agents:
            self.stop_agents()
        self.dispatcher.stop()
