"""The fleet of a trial: the dispatcher's work and the vehicle agents, served in turn by one thread.

:class:`FleetServer` is what ``agrifleet serve`` runs (a :class:`~agrifleet.core.bus.ServerBus`, the SQLite
:class:`~agrifleet.core.store.Store` and the :class:`~agrifleet.core.fleet.FleetManager`), stepped by the
trial instead of by a thread of its own. The agents are the real :class:`~agrifleet.drivers.agent.Agent`
with their real :class:`~agrifleet.core.bus.ClientBus`; both ends talk through a
:class:`~._loopback.Network` and read the trial's virtual clock. So plan delivery, acknowledgements,
heartbeats, lost vehicles and the re-planning of their work all happen as in the field, on simulated time,
and the same seed gives the same trial.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agrifleet.core.bus import BusConfig, ClientBus, Inbound, ServerBus
from agrifleet.core.dispatcher import DispatcherConfig, send_plan_chunks
from agrifleet.core.errors import AgrifleetError
from agrifleet.core.fleet import FleetManager
from agrifleet.core.messages import (
    Command,
    CommandAck,
    CommandCode,
    Error,
    Event,
    Hello,
    PlanAck,
    Progress,
    Telemetry,
    Welcome,
)
from agrifleet.core.store import Store
from agrifleet.drivers.agent import Agent, AgentConfig
from agrifleet.drivers.base import Driver

from ._loopback import Network

__all__ = ["FleetServer", "make_agent"]

logger = logging.getLogger(__name__)

ENDPOINT = "inproc://agrifleet-sim"
_CHUNK_BYTES = DispatcherConfig().chunk_bytes          # as the field dispatcher cuts plans


class FleetServer:
    """The dispatcher of a trial (implements :class:`~agrifleet.core.fleet.FleetLink`)."""

    def __init__(self, network: Network, clock: Callable[[], float], bus: BusConfig, replan_after_s: float,
                 planner: Callable[[], Any] | None = None) -> None:
        self.clock = clock
        self.bus = ServerBus(ENDPOINT, None, None, bus, clock, context=network.context())
        self.bus.start()
        self.store = Store(":memory:", wall=clock)
        self.fleet = FleetManager(self.store, self, clock, replan_after_s, telemetry_every_s=1.0,
                                  planner=planner)
        self.session = "trial"
        self.handler_errors = 0
        self.lost: list[tuple[float, str]] = []     # (time, vehicle) the bus declared lost

    def close(self) -> None:
        self.bus.close()
        self.store.close()

    # --- one turn -----------------------------------------------------------------------------------------
    def step(self) -> None:
        for inbound in self.bus.poll(0.0):
            try:
                self._serve(inbound)
            except AgrifleetError as exc:
                self.handler_errors += 1
                logger.warning("cannot serve %s from %s: %s", inbound.msg.KIND.name.lower(), inbound.vehicle,
                               exc)
                self.bus.reply(inbound.rid, Error(ref=inbound.msg.id, code=exc.code, text=str(exc)[:4000]))
        for vehicle in self.bus.tick():
            self.lost.append((self.clock(), vehicle))
            self.fleet.on_lost(vehicle)
        self.fleet.tick()

    def _serve(self, inbound: Inbound) -> None:
        """What the dispatcher does with a vehicle's message (``core/dispatcher.py``, minus operators)."""
        msg, vehicle, fleet = inbound.msg, inbound.vehicle, self.fleet
        if vehicle is None:
            return
        if isinstance(msg, Telemetry):
            fleet.on_telemetry(vehicle, msg)
        elif isinstance(msg, Hello):
            self.bus.send(vehicle, Welcome(ref=msg.id, session=self.session,
                                           heartbeat_s=self.bus.config.heartbeat_s))
            fleet.on_hello(vehicle, msg.vehicle_kind, msg.driver, msg.kinds, msg.features, msg.spec,
                           msg.mission, msg.index, msg.state, inbound.new_session)
        elif isinstance(msg, Progress):
            if fleet.on_progress(vehicle, msg.mission, msg.index, msg.state, msg.coverage):
                self.bus.ack(inbound)
        elif isinstance(msg, PlanAck):
            fleet.on_plan_ack(vehicle, msg.mission, msg.complete, msg.ok, msg.reason)
        elif isinstance(msg, CommandAck):
            fleet.on_command_ack(vehicle, msg.ref, msg.command, msg.ok, msg.result)
        elif isinstance(msg, Event):
            fleet.on_event(vehicle, msg.mission, msg.code, msg.severity, msg.text)
            self.bus.ack(inbound)
        elif isinstance(msg, Error):
            logger.warning("vehicle %s reports an error: %s %s", vehicle, msg.code, msg.text)

    # --- FleetLink ----------------------------------------------------------------------------------------
    def send_plan(self, vehicle: str, mission: int, job: int, plan_bytes: bytes, start_index: int) -> None:
        send_plan_chunks(self.bus, vehicle, mission, job, plan_bytes, start_index, _CHUNK_BYTES)

    def send_command(self, vehicle: str, mission: int, command: CommandCode) -> int:
        return self.bus.send(vehicle, Command(command=command, mission=mission), reliable=True)

    def forget(self, vehicle: str) -> None:
        self.bus.forget(vehicle)


def make_agent(vehicle: str, driver: Driver, network: Network, clock: Callable[[], float], bus: BusConfig,
               config: AgentConfig, driver_name: str) -> Agent:
    """An agent whose bus talks through ``network`` (its sockets are the only thing replaced)."""
    agent = Agent(vehicle, driver, ENDPOINT, bus=bus, config=config, clock=clock, driver_name=driver_name)
    made = agent.bus
    agent.bus = ClientBus(made.server, made.hello, None, bus, clock, context=network.context(vehicle))
    made.close()              # releases the ZeroMQ context the agent made for itself
    return agent
