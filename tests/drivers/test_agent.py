"""The vehicle agent against a scripted dispatcher: plans in chunks, commands, progress, events, fuzz."""
from __future__ import annotations

import random
import threading
import time
import zlib

import pytest
import zmq
from agrifleet.core.bus import BusConfig, ServerBus
from agrifleet.core.errors import ProtocolError
from agrifleet.core.messages import (
    Ack,
    Command,
    CommandAck,
    CommandCode,
    Event,
    EventCode,
    Heartbeat,
    Hello,
    PlanAck,
    PlanChunk,
    Progress,
    Telemetry,
    Welcome,
    decode,
    encode,
)
from agrifleet.core.plan_io import plans_to_msgpack
from agrifleet.drivers.agent import Agent, AgentConfig
from agrifleet.drivers.base import GnssQuality, MissionState, TelemetrySample

from tests.core.fleet_doubles import PathDriver, fuzz_frames, lawnmower

BUS = BusConfig(heartbeat_s=0.05, liveness=100, resend_s=0.1)


class Stage:
    """The agent, stepped by hand, and a ServerBus playing the dispatcher."""

    def __init__(self, time_scale: float = 60.0, config: AgentConfig = AgentConfig(telemetry_hz=50.0)) -> None:
        self.ctx = zmq.Context()
        self.server = ServerBus("tcp://127.0.0.1:0", None, config=BUS, context=self.ctx)
        self.server.start()
        self.driver = PathDriver("t1", time_scale=time_scale)
        self.agent = Agent("t1", self.driver, self.server.endpoint, bus=BUS, config=config)
        self.agent.bus.context.term()
        self.agent.bus.context = self.ctx
        self.agent.bus._own_context = False
        self.driver.connect()
        self.agent.bus.start()
        self.inbox: list = []
        self.hellos: list[Hello] = []

    def pump(self, until, timeout_s: float = 5.0, ack_progress: bool = True) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.agent.step(0.002)
            for inbound in self.server.poll(0.002):
                msg = inbound.msg
                if isinstance(msg, Hello):
                    self.hellos.append(msg)
                    self.server.send("t1", Welcome(ref=msg.id, session="d", heartbeat_s=BUS.heartbeat_s))
                    continue
                if isinstance(msg, (Progress, Event)) and ack_progress:
                    self.server.ack(inbound)
                self.inbox.append(msg)
            self.server.tick()
            if until():
                return
        raise AssertionError("condition not reached")

    def of(self, kind):
        return [m for m in self.inbox if isinstance(m, kind)]

    def send_plan(self, plan, mission=7, start_index=0, chunk_bytes=2000, damage=False) -> list[int]:
        data = plans_to_msgpack([plan])
        crc = zlib.crc32(data) ^ (1 if damage else 0)
        chunks = [data[i:i + chunk_bytes] for i in range(0, len(data), chunk_bytes)]
        return [self.server.send("t1", PlanChunk(mission=mission, job=1, chunk=k, n_chunks=len(chunks), size=len(data),
                                                 crc32=crc, start_index=start_index, data=c), reliable=True)
                for k, c in enumerate(chunks)]

    def command(self, code, mission=7) -> int:
        return self.server.send("t1", Command(command=code, mission=mission), reliable=True)

    def close(self) -> None:
        self.agent.bus.close()
        self.server.close()
        self.ctx.term()


@pytest.fixture()
def stage():
    s = Stage()
    s.pump(lambda: s.agent.bus.registered)
    yield s
    s.close()


def test_hello_describes_the_vehicle(stage):
    (hello,) = stage.hellos
    assert hello.vehicle == "t1" and hello.vehicle_kind == "tractor" and hello.driver == "path-double"
    assert hello.kinds == ("tractor",) and hello.features == ("spray",)
    assert hello.spec["min_turn_radius_m"] == 3.0 and hello.mission == 0 and hello.index == -1
    assert hello.session == stage.agent.session


def test_plan_in_chunks_then_start_progress_to_completion(stage):
    plan = lawnmower(0, 0, 6.0, 3, 30.0)
    ids = stage.send_plan(plan, start_index=5, chunk_bytes=1500)
    assert len(ids) >= 4
    stage.pump(lambda: any(a.complete for a in stage.of(PlanAck)))
    acks = stage.of(PlanAck)
    assert sorted(a.ref for a in acks) == ids and [a.complete for a in acks].count(True) == 1
    assert acks[-1].ok and not stage.server.links["t1"].outbox
    (uploaded, start), = stage.driver.uploads
    assert start == 5 and len(uploaded) == len(plan) and (uploaded.path == plan.path).all()
    cmd = stage.command(CommandCode.START)
    stage.pump(lambda: stage.driver.state == MissionState.COMPLETE and stage.of(Progress)
               and stage.of(Progress)[-1].state == MissionState.COMPLETE)
    (ack,) = stage.of(CommandAck)
    assert ack.ref == cmd and ack.ok and ack.command is CommandCode.START
    progress = stage.of(Progress)
    assert [p.index for p in progress] == sorted(p.index for p in progress)
    assert progress[0].index >= 5 and progress[-1].index == len(plan) - 1 and progress[-1].coverage == 1.0
    assert all(p.mission == 7 for p in progress)
    stage.pump(lambda: not stage.agent.bus.link.outbox)         # every progress gets acknowledged
    telemetry = stage.of(Telemetry)
    assert telemetry and telemetry[-1].mission == 7 and telemetry[-1].gnss == GnssQuality.RTK_FIXED
    assert telemetry[-1].x == pytest.approx(plan.path["x"][-1])


def test_damaged_plan_is_refused_and_the_vehicle_keeps_nothing(stage):
    stage.send_plan(lawnmower(0, 0, 6.0, 2, 20.0), damage=True)
    stage.pump(lambda: any(a.complete for a in stage.of(PlanAck)))
    final = next(a for a in stage.of(PlanAck) if a.complete)
    assert not final.ok and "CRC mismatch" in final.reason
    assert stage.driver.uploads == [] and stage.agent.mission == 0


def test_commands_map_to_the_driver_and_refusals_are_reported(stage):
    stage.send_plan(lawnmower(0, 0, 6.0, 2, 20.0))
    stage.pump(lambda: any(a.complete for a in stage.of(PlanAck)))
    stage.driver.reject = {"pause"}
    refs = [stage.command(CommandCode.START), stage.command(CommandCode.PAUSE),
            stage.command(CommandCode.START, mission=99), stage.command(CommandCode.ABORT, mission=99),
            stage.command(CommandCode.RETURN_HOME)]
    stage.pump(lambda: len(stage.of(CommandAck)) == 5)
    acks = {a.ref: a for a in stage.of(CommandAck)}
    assert acks[refs[0]].ok
    assert not acks[refs[1]].ok and "pause() -> DENIED" in acks[refs[1]].result
    assert not acks[refs[2]].ok and "mission 99 is not on this vehicle" in acks[refs[2]].result
    assert acks[refs[3]].ok                         # nothing of mission 99 runs here: nothing to abort
    assert acks[refs[4]].ok and stage.driver.state == MissionState.RETURNING
    assert stage.driver.calls == ["upload", "start", "pause", "return_home"]


def test_unacknowledged_progress_is_resent_only_as_the_latest(stage):
    stage.send_plan(lawnmower(0, 0, 6.0, 4, 60.0))
    stage.pump(lambda: any(a.complete for a in stage.of(PlanAck)))
    stage.command(CommandCode.START)
    stage.pump(lambda: len(stage.of(Progress)) >= 6, ack_progress=False)
    pending = [decode(p.frame) for p in stage.agent.bus.link.outbox.values()]
    assert len(pending) == 1 and pending[0].index == max(p.index for p in stage.of(Progress))
    stage.pump(lambda: not stage.agent.bus.link.outbox)         # acked now


def test_low_battery_and_gnss_events_once_per_transition(stage):
    stage.send_plan(lawnmower(0, 0, 6.0, 4, 60.0))
    stage.pump(lambda: any(a.complete for a in stage.of(PlanAck)))
    stage.command(CommandCode.START)
    stage.pump(lambda: stage.driver.state == MissionState.ACTIVE)
    stage.driver.battery_pct = 12.0
    stage.driver.gnss = GnssQuality.SINGLE
    stage.pump(lambda: len(stage.of(Event)) >= 2)
    stage.pump(lambda: False if time.sleep(0.01) else len(stage.of(Telemetry)) > 10)
    events = stage.of(Event)
    assert sorted(e.code for e in events) == [EventCode.LOW_BATTERY, EventCode.GNSS_DEGRADED]
    assert all(e.mission == 7 for e in events)
    stage.driver.fail()
    # the event and the progress report go out in one step but as two frames: wait for both
    stage.pump(lambda: any(e.code == EventCode.FAILSAFE for e in stage.of(Event))
               and stage.of(Progress)[-1].state == MissionState.FAILED)


def test_hello_after_a_dispatcher_restart_says_what_the_agent_holds(stage):
    stage.send_plan(lawnmower(0, 0, 6.0, 4, 60.0), mission=12)
    stage.pump(lambda: any(a.complete for a in stage.of(PlanAck)))
    stage.command(CommandCode.START, mission=12)
    stage.pump(lambda: stage.agent.index > 30)
    stage.agent.bus.registered = False                          # as after "not registered"
    stage.agent.bus._hello_at = -1e18
    stage.pump(lambda: len(stage.hellos) == 2)
    hello = stage.hellos[-1]
    assert hello.mission == 12 and hello.index > 30 and hello.state == MissionState.ACTIVE


def test_100k_hostile_frames_do_not_stop_the_agent():
    stage = Stage(time_scale=50.0)
    stop = threading.Event()
    worker = threading.Thread(target=lambda: [stage.agent.step(0.005) for _ in iter(stop.is_set, True)], daemon=True)
    # the frames first: while they are made, nobody would answer the agent's heartbeats
    examples = [encode(m) for m in (
        PlanChunk(mission=3, job=1, chunk=0, n_chunks=1, size=9, crc32=5, start_index=0, data=b"123456789", id=1),
        Command(command=CommandCode.START, mission=3, id=2), Welcome(ref=1, session="d", heartbeat_s=0.05),
        Ack(ref=3), Heartbeat())]
    frames = fuzz_frames(random.Random(2024), 100_000, examples)
    expected_bad = 0
    for f in frames:
        try:
            decode(f)
        except ProtocolError:
            expected_bad += 1
    try:
        stage.pump(lambda: stage.agent.bus.registered)
        worker.start()                        # the agent now runs in its own thread, as in production
        rid = stage.server.routes["t1"]
        counters = stage.agent.bus.counters
        first_in, first_bad = counters.frames_in, counters.bad_frames
        for f in frames:
            stage.server.router.send_multipart([rid, f])
        deadline = time.monotonic() + 50
        while counters.frames_in < first_in + 100_000 and time.monotonic() < deadline:
            stage.server.poll(0.01)
        assert counters.bad_frames - first_bad == expected_bad and expected_bad > 50_000
        assert worker.is_alive()
        # valid traffic is still served. (The flood came through the dispatcher's own link, so it used up
        # message ids the agent will now treat as duplicates; the dispatcher's next ids are fresh.)
        stage.server.links["t1"].next_id = 1 << 40
        before = len(stage.driver.uploads)
        plan = lawnmower(0, 0, 6.0, 2, 20.0)
        stage.send_plan(plan, mission=500)
        served: list = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                isinstance(m, PlanAck) and m.complete and m.mission == 500 for m in served):
            served += [i.msg for i in stage.server.poll(0.005)]
            stage.server.tick()
        assert any(isinstance(m, PlanAck) and m.complete and m.ok and m.mission == 500 for m in served)
        assert len(stage.driver.uploads) == before + 1 and len(stage.driver.uploads[-1][0]) == len(plan)
    finally:
        stop.set()
        if worker.is_alive():
            worker.join(5)
        stage.close()


def test_the_same_plan_again_is_acknowledged_without_a_second_upload(stage):
    plan = lawnmower(0, 0, 6.0, 2, 20.0)
    stage.send_plan(plan, mission=9, start_index=3)
    stage.pump(lambda: any(a.complete for a in stage.of(PlanAck)))
    stage.send_plan(plan, mission=9, start_index=3)            # re-sent after the link dropped our ack
    stage.pump(lambda: [a.complete for a in stage.of(PlanAck)].count(True) == 2)
    assert all(a.ok for a in stage.of(PlanAck)) and len(stage.driver.uploads) == 1
    stage.send_plan(plan, mission=9, start_index=10)           # a different start is a different plan
    stage.pump(lambda: [a.complete for a in stage.of(PlanAck)].count(True) == 3)
    assert [u[1] for u in stage.driver.uploads] == [3, 10]


class _LateSamples(PathDriver):
    """A driver whose telemetry thread had queued a sample of the mission before when the new plan came."""

    def upload(self, plan, start_index: int = 0) -> None:
        self.stale = [TelemetrySample(t_mono_s=self.clock(), x=0.0, y=0.0, z=0.0, heading_rad=0.0,
                                      speed_mps=0.0, mode="done", armed=True, gnss=GnssQuality.RTK_FIXED,
                                      mission=MissionState.COMPLETE, plan_index=9999)]
        super().upload(plan, start_index)

    def telemetry(self, timeout_s: float = 0.0):
        stale, self.stale = getattr(self, "stale", []), []
        yield from stale
        yield from super().telemetry(timeout_s)


def test_a_sample_of_the_mission_before_never_completes_the_next(stage):
    """Plan and START read in one step (the dispatcher answers the plan's ack at once): samples the driver
    queued before the upload belong to the mission before and must not end the new one."""
    stage.driver = _LateSamples("t1", time_scale=0.01)       # crawls: the new mission cannot finish here
    stage.agent.driver = stage.driver
    stage.driver.connect()
    plan = lawnmower(0, 0, 6.0, 3, 30.0)
    stage.send_plan(plan)
    stage.command(CommandCode.START)
    stage.pump(lambda: any(isinstance(m, CommandAck) for m in stage.inbox))
    stage.pump(lambda: stage.of(Progress), timeout_s=2.0)
    assert stage.agent.state == MissionState.ACTIVE and stage.agent.index < len(plan) - 1
    assert all(p.state != MissionState.COMPLETE for p in stage.of(Progress))
