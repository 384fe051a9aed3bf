"""The wire schema: every kind round-trips, and nothing but ProtocolError ever comes out of decode."""
from __future__ import annotations

import math
import random

import msgpack
import numpy as np
import pytest
from agrifleet.core.codec import packb
from agrifleet.core.errors import ProtocolError
from agrifleet.core.messages import (
    ACK_KINDS,
    MESSAGE_TYPES,
    SCHEMA_VERSION,
    Ack,
    Command,
    CommandAck,
    CommandCode,
    Error,
    Event,
    EventCode,
    FleetState,
    Heartbeat,
    Hello,
    Kind,
    MissionPhase,
    PlanAck,
    PlanChunk,
    Progress,
    Reply,
    Request,
    Severity,
    Telemetry,
    Welcome,
    decode,
    encode,
)
from hypothesis import given
from hypothesis import strategies as st

EXAMPLES = [
    Hello(vehicle="t1", vehicle_kind="tractor", driver="sim", software="agrifleet 0.1", session="abc",
          kinds=("tractor",), features=("spray", "pause"), max_mission_items=700,
          spec={"name": "t1", "kind": "tractor", "min_turn_radius_m": 4.5}, mission=3, index=17, state=1, id=4),
    Welcome(ref=4, session="d1", heartbeat_s=0.5),
    Heartbeat(),
    PlanChunk(mission=3, job=1, chunk=1, n_chunks=2, size=10, crc32=123, start_index=5, data=b"\x00\x01", id=9),
    PlanAck(ref=9, mission=3, chunk=1, complete=True, ok=False, reason="too many items"),
    Command(command=CommandCode.ESTOP, mission=3, id=10),
    CommandAck(ref=10, command=CommandCode.ESTOP, ok=True, result="ok"),
    Progress(mission=3, index=120, state=1, coverage=0.25, id=11),
    Telemetry(t_s=12.5, x=1.0, y=-2.0, z=0.0, lat_deg=48.1, lon_deg=11.5, heading_rad=0.3, speed_mps=2.5,
              battery_pct=80.0, tank_l=120.0, mode="AUTO", armed=True, gnss=4, state=1, mission=3, index=120,
              sections=0xFF),
    Event(code=EventCode.FAILSAFE, severity=Severity.CRITICAL, text="geofence", mission=3, id=12),
    Error(ref=7, code="bad_message", text="what"),
    Ack(ref=11),
    Request(op="status", args={"job": 1}, id=1),
    Reply(ref=1, ok=True, result={"missions": [1, 2], "coverage": 0.5}),
    FleetState(t_s=3.0, vehicles=[{"id": "t1"}], jobs=[]),
]


def test_every_kind_has_an_example_and_round_trips():
    assert {type(m).KIND for m in EXAMPLES} == set(Kind)
    for msg in EXAMPLES:
        back = decode(encode(msg))
        assert back == msg, type(msg).__name__
        assert type(back) is type(msg)


def test_envelope_is_a_versioned_map_with_integer_kind():
    doc = msgpack.unpackb(encode(Command(command=CommandCode.PAUSE, mission=2, id=5)))
    assert doc == {"v": SCHEMA_VERSION, "kind": int(Kind.COMMAND), "id": 5, "command": 2, "mission": 2}


def test_telemetry_nan_survives_and_enums_come_back_typed():
    t = decode(encode(Telemetry(t_s=1.0)))
    assert math.isnan(t.x) and math.isnan(t.battery_pct)
    c = decode(encode(Command(command=CommandCode.START)))
    assert c.command is CommandCode.START


def test_ack_kinds_carry_ref():
    for kind in ACK_KINDS:
        assert "ref" in MESSAGE_TYPES[kind].SCHEMA


def test_final_mission_phases():
    assert {p for p in MissionPhase if p.is_final} == {MissionPhase.COMPLETE, MissionPhase.ABORTED,
                                                        MissionPhase.FAILED, MissionPhase.REASSIGNED}


@pytest.mark.parametrize("doc, words", [
    ([1, 2], "not a map"),
    ({"v": 2, "kind": 3}, "schema version 2"),
    ({"v": True, "kind": 3}, "schema version True"),
    ({"v": 1, "kind": 99}, "unknown message kind 99"),
    ({"v": 1, "kind": 3, "id": -1}, "message id -1"),
    ({"v": 1, "kind": 6, "id": 1}, "command: missing field(s) command"),
    ({"v": 1, "kind": 6, "id": 1, "command": 9}, "not one of CommandCode"),
    ({"v": 1, "kind": 6, "id": 1, "command": 1, "extra": 0}, "unknown field 'extra'"),
    ({"v": 1, "kind": 8, "id": 1, "mission": 1, "index": 3, "state": 1, "coverage": 1.5}, "coverage"),
    ({"v": 1, "kind": 8, "id": 1, "mission": 1, "index": 3, "state": 1, "coverage": math.nan}, "coverage"),
    ({"v": 1, "kind": 1, "id": 1, "vehicle": "", "vehicle_kind": "t", "driver": "d", "software": "s",
      "session": "x"}, "field 'vehicle'"),
    ({"v": 1, "kind": 4, "mission": 1, "job": 1, "chunk": 2, "n_chunks": 2, "size": 3, "crc32": 0,
      "start_index": 0, "data": b"x"}, "chunk 2 of 2"),
    ({"v": 1, "kind": 9, "t_s": "soon"}, "field 't_s'"),
    ({"v": 1, "kind": 9, "t_s": 1.0, "lat_deg": 95.0}, "lat_deg"),
    ({"v": 1, "kind": 2, "ref": 1, "session": "s", "heartbeat_s": 0.0}, "heartbeat_s"),
])
def test_bad_messages_say_what_is_wrong(doc, words):
    with pytest.raises(ProtocolError) as err:
        decode(packb(doc))
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_numpy_arrays_travel_as_ext_but_do_not_fit_scalar_fields():
    with pytest.raises(ProtocolError, match="field 'x'"):
        decode(packb({"v": 1, "kind": 9, "t_s": 1.0, "x": np.zeros(3)}))


def test_garbage_bytes_raise_protocol_error_only():
    rng = random.Random(7)
    frames = [encode(m) for m in EXAMPLES]
    for _ in range(3000):
        base = bytearray(rng.choice(frames))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(3)
            pos = rng.randrange(len(base)) if base else 0
            if op == 0 and base:
                base[pos] = rng.randrange(256)
            elif op == 1:
                base[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif base:
                del base[pos:pos + rng.randint(1, 8)]
        try:
            decode(bytes(base))
        except ProtocolError:
            pass


msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20)


@given(st.dictionaries(st.sampled_from(["v", "kind", "id", "ref", "mission", "index", "state", "coverage",
                                        "command", "t_s", "x", "op", "args", "data", "chunk", "n_chunks",
                                        "session", "vehicle"]), msgpack_values, max_size=10),
       st.sampled_from([int(k) for k in Kind]))
def test_random_documents_never_escape_protocol_error(doc, kind):
    doc = dict(doc, v=1, kind=kind)
    try:
        frame = msgpack.packb(doc, use_bin_type=True)
    except (OverflowError, ValueError):
        return
    try:
        msg = decode(frame)
    except ProtocolError:
        return
    assert decode(encode(msg)) is not None


def test_with_id_numbers_a_copy():
    cmd = Command(command=CommandCode.PAUSE, mission=4)
    numbered = cmd.with_id(12)
    assert (cmd.id, numbered.id) == (0, 12) and numbered == Command(command=CommandCode.PAUSE, mission=4, id=12)
