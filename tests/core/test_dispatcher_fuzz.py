"""100,000 hostile frames against a running dispatcher: counted, dropped, and real work still gets done."""
from __future__ import annotations

import random
import time

import msgpack
import pytest
import zmq
from agrifleet.core.errors import ProtocolError
from agrifleet.core.messages import (
    Command,
    CommandAck,
    CommandCode,
    Event,
    EventCode,
    Heartbeat,
    Hello,
    PlanAck,
    Progress,
    Request,
    Severity,
    Telemetry,
    decode,
    encode,
)
from agrifleet.core.plan_io import plans_to_msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from .fleet_doubles import FleetRig, field_plans, fuzz_frames

EXAMPLES = [encode(m) for m in (
    Hello(vehicle="fz", vehicle_kind="tractor", driver="x", software="0", session="s", kinds=("tractor",), id=1),
    Progress(mission=1, index=10, state=1, coverage=0.5, id=2), Telemetry(t_s=1.0, x=1.0, y=2.0),
    PlanAck(ref=3, mission=1, chunk=0, complete=True), CommandAck(ref=4, command=CommandCode.START, ok=True),
    Event(code=EventCode.FAULT, severity=Severity.CRITICAL, text="x", mission=1, id=5), Heartbeat(),
    Request(op="status", args={"job": 1}, id=6), Command(command=CommandCode.ABORT, mission=1, id=7))]


def test_100k_hostile_frames_then_a_job_completes(tmp_path):
    with FleetRig(str(tmp_path / "f.db"), ["alpha", "bravo"], time_scale=60.0) as rig:
        frames = fuzz_frames(random.Random(4), 100_000, EXAMPLES)
        expected_bad = 0
        for f in frames:
            try:
                decode(f)
            except ProtocolError:
                expected_bad += 1
        ctx = zmq.Context.instance()
        attacker = ctx.socket(zmq.DEALER)
        attacker.linger = 0
        attacker.rcvhwm = 0
        attacker.connect(rig.dispatcher.endpoint)
        counters = rig.dispatcher.bus.counters
        bad0 = counters.bad_frames
        t0 = time.monotonic()
        try:
            for f in frames:
                attacker.send(f)
            attacker.send_multipart([b"two", b"parts"])
            # frames of one connection are served in order: the answer to this ping comes after all of them
            attacker.send(encode(Request(op="ping", id=987654321)))
            deadline = time.monotonic() + 55
            answered = False
            while not answered and time.monotonic() < deadline:
                if attacker.poll(100):
                    try:
                        answered = getattr(decode(attacker.recv()), "ref", None) == 987654321
                    except ProtocolError:
                        pass
            assert answered
        finally:
            attacker.close()
        elapsed = time.monotonic() - t0
        assert counters.bad_frames - bad0 == expected_bad + 1 and expected_bad > 50_000
        assert elapsed < 60
        stats = rig.call("stats")
        assert stats["served"] > 0                    # some frames were valid messages and got answers
        plans, _ = field_plans(["alpha", "bravo"], swaths_each=2)
        job = rig.call("submit", name="after", vehicles=["alpha", "bravo"],
                       plans=plans_to_msgpack(list(plans.values())))["job"]
        assert rig.wait_job(job)["coverage"] > 0.999


@settings(max_examples=150, deadline=None)
@given(docs=st.lists(st.dictionaries(
    st.sampled_from(["v", "kind", "id", "ref", "mission", "index", "state", "op", "args", "vehicle", "session",
                     "command", "ok", "t_s"]),
    st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.floats() | st.text(max_size=10)
    | st.binary(max_size=10) | st.lists(st.integers(), max_size=3), max_size=8), min_size=1, max_size=20))
def test_generated_documents_never_stop_the_dispatcher(live_dispatcher, docs):
    rig, sock = live_dispatcher
    sent = 0
    for doc in docs:
        try:
            sock.send(msgpack.packb(doc, use_bin_type=True))
            sent += 1
        except (OverflowError, ValueError):
            pass
    # the dispatcher still answers a well-formed request after them
    sock.send(encode(Request(op="ping", id=424242)))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if sock.poll(100):
            try:
                msg = decode(sock.recv())
            except ProtocolError:
                continue
            if getattr(msg, "ref", None) == 424242:
                assert msg.ok and msg.result["session"] == rig.dispatcher.session
                return
    raise AssertionError("no answer to ping after the generated documents")


@pytest.fixture(scope="module")
def live_dispatcher(tmp_path_factory):
    with FleetRig(str(tmp_path_factory.mktemp("fz") / "f.db"), ["alpha"]) as rig:
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(rig.dispatcher.endpoint)
        try:
            yield rig, sock
        finally:
            sock.close()
