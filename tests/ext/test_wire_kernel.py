"""The wire codec kernel against its Python reference, and both against the general codec of core.messages.

The kernel may answer ``None`` (the general codec then decides), but it must answer ``None`` exactly where
the reference does, and whatever it does decode or encode must equal what the general codec makes of the
same frame or message. Frames are written here with every msgpack encoding of a value (not only the
shortest one msgpack itself writes), repeated keys, containers, extension types, bad UTF-8 and damage.
"""
from __future__ import annotations

import math
import random
import struct
from typing import Any

import msgpack
import numpy as np
import pytest
from agrifleet.core import messages as M
from agrifleet.core.errors import ProtocolError
from agrifleet.ext import kernel
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.kernels

TABLE = M._wire_table()
KERNEL = kernel("wire").Codec(TABLE)
REF = kernel("wire", reference=True).Codec(TABLE)
SPECS = {kind: (cls, {name: check for name, check, _, _ in fields}) for kind, cls, _, fields in TABLE}


# --- msgpack written by hand, in any of its legal encodings ------------------------------------------

class Ext:
    def __init__(self, code: int, data: bytes) -> None:
        self.code, self.data = code, data


class Raw:
    """Bytes put into the frame as they are (e.g. a string header over bytes that are not UTF-8)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _int_forms(v: int) -> list[bytes]:
    forms = []
    if 0 <= v <= 0x7F or -32 <= v < 0:
        forms.append(struct.pack(">b" if v < 0 else ">B", v))
    for code, fmt, lo, hi in ((0xCC, ">B", 0, 0xFF), (0xCD, ">H", 0, 0xFFFF), (0xCE, ">I", 0, 0xFFFFFFFF),
                              (0xCF, ">Q", 0, 2**64 - 1), (0xD0, ">b", -128, 127), (0xD1, ">h", -2**15, 2**15 - 1),
                              (0xD2, ">i", -2**31, 2**31 - 1), (0xD3, ">q", -2**63, 2**63 - 1)):
        if lo <= v <= hi:
            forms.append(bytes([code]) + struct.pack(fmt, v))
    return forms


def _len_forms(n: int, fix: int | None, fix_max: int, codes: tuple[int, ...]) -> list[bytes]:
    forms = [bytes([fix | n])] if fix is not None and n <= fix_max else []
    for code, fmt, hi in zip(codes, (">B", ">H", ">I"), (0xFF, 0xFFFF, 0xFFFFFFFF)):
        if code and n <= hi:
            forms.append(bytes([code]) + struct.pack(fmt, n))
    return forms


def pack(obj: Any, rng: random.Random) -> bytes:
    """``obj`` as msgpack in a randomly chosen legal encoding; a list of pairs is a map (keys may repeat)."""
    if isinstance(obj, Raw):
        return obj.data
    if obj is None:
        return b"\xc0"
    if obj is True or obj is False:
        return b"\xc3" if obj else b"\xc2"
    if isinstance(obj, int):
        return rng.choice(_int_forms(obj))
    if isinstance(obj, float):
        single = struct.unpack(">f", struct.pack(">f", obj))[0] if abs(obj) < 3e38 or not math.isfinite(obj) else None
        if single is not None and (single == obj or (math.isnan(obj) and math.isnan(single))) and rng.random() < 0.5:
            return b"\xca" + struct.pack(">f", obj)
        return b"\xcb" + struct.pack(">d", obj)
    if isinstance(obj, str):
        data = obj.encode("utf-8", "surrogatepass")
        return rng.choice(_len_forms(len(data), 0xA0, 31, (0xD9, 0xDA, 0xDB))) + data
    if isinstance(obj, bytes):
        return rng.choice(_len_forms(len(obj), None, 0, (0xC4, 0xC5, 0xC6))) + obj
    if isinstance(obj, Ext):
        return bytes([0xC7, len(obj.data), obj.code & 0xFF]) + obj.data
    if isinstance(obj, tuple):        # an array
        return rng.choice(_len_forms(len(obj), 0x90, 15, (0, 0xDC, 0xDD))) + b"".join(pack(x, rng) for x in obj)
    assert isinstance(obj, list)      # a map as (key, value) pairs
    return (rng.choice(_len_forms(len(obj), 0x80, 15, (0, 0xDE, 0xDF)))
            + b"".join(pack(k, rng) + pack(v, rng) for k, v in obj))


# --- values, right and wrong, for each check -----------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=40)
           | st.binary(max_size=40))
junk = scalars | st.tuples(st.integers(0, 3)) | st.builds(lambda d: list(d.items()), st.dictionaries(
    st.text(max_size=3), st.integers(-2**63, 2**63 - 1), max_size=2)) | st.builds(Ext, st.integers(0, 5), st.binary(max_size=4)) \
    | st.builds(Raw, st.sampled_from([b"\xa2\xff\xfe", b"\xa3\xed\xa0\x80", b"\xc1", b"\xa2\xc3\x28"]))


def valid(check: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    what = check[0]
    if what == "int":
        lo, hi = check[1], check[2]
        return st.integers(lo, hi) | st.sampled_from([lo, hi, min(hi, lo + 1), max(lo, 127), max(lo, min(hi, 128))])
    if what == "float":
        lo, hi, nan = check[1], check[2], check[3]
        finite = st.floats(max(lo, -1e300), min(hi, 1e300))
        edges = st.sampled_from([x for x in (lo, hi, 0.0, -0.0) if math.isfinite(x) and lo <= x <= hi] or [0.0])
        ints = st.integers(max(math.ceil(lo), -2**63) if math.isfinite(lo) else -2**63,
                           min(math.floor(hi), 2**64 - 1) if math.isfinite(hi) else 2**64 - 1)
        return finite | edges | ints | (st.just(math.nan) if nan else finite)
    if what == "str":
        return st.text(min_size=0 if check[2] else 1, max_size=min(check[1], 40)) | st.just("é" * min(check[1], 40))
    if what == "bool":
        return st.booleans()
    if what == "bytes":
        return st.binary(max_size=min(check[1], 64))
    if what == "enum":
        return st.sampled_from(sorted(check[1]))
    if what == "any":
        return scalars
    return st.tuples(st.text(max_size=4))     # container: never taken by the codec


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """A message-like map: mostly right, sometimes wrong in one of many ways, in any legal encoding."""
    kind = draw(st.sampled_from(sorted(SPECS) + [4, 0, 99]))
    schema = SPECS[kind][1] if kind in SPECS else {"mission": ("int", 1, 5)}
    pairs: list[tuple[Any, Any]] = []
    for name, check in schema.items():
        r = draw(st.integers(0, 9))
        if r <= 6:
            pairs.append((name, draw(valid(check))))
        elif r == 7:
            pairs.append((name, draw(junk)))
    envelope = [("v", draw(st.sampled_from([1, 1, 1, 1, 2, True, 1.0]))), ("kind", kind)]
    if draw(st.booleans()):
        envelope.append(("id", draw(st.sampled_from([0, 1, 2**63 - 1, 2**63, -1, 7]))))
    pairs += envelope
    if draw(st.integers(0, 7)) == 0:
        pairs.append((draw(st.sampled_from(["extra", "ref", "x", 5, b"bin"])), draw(junk)))
    if pairs and draw(st.integers(0, 5)) == 0:               # a key again, the later value counts
        name, _ = draw(st.sampled_from(pairs))
        pairs.append((name, draw(junk | (valid(schema[name]) if name in schema else junk))))
    pairs = draw(st.permutations(pairs))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    frame = pack(list(pairs), rng)
    damage = draw(st.integers(0, 11))
    if damage == 0 and frame:
        frame = frame[:draw(st.integers(0, len(frame) - 1))]
    elif damage == 1:
        frame += draw(st.binary(min_size=1, max_size=3))
    return frame


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if type(a) is not type(b):
        return False
    for name in ("id", *type(a).SCHEMA):
        x, y = getattr(a, name), getattr(b, name)
        if type(x) is not type(y):
            return False
        if not (x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))):
            return False
    return True


def general(frame: bytes) -> Any:
    try:
        return M._decode_general(frame)
    except ProtocolError:
        return None


@given(frames())
def test_kernel_decodes_exactly_what_the_reference_decodes_and_the_general_decoder_agrees(frame):
    k, r = KERNEL.decode(frame), REF.decode(frame)
    assert same(k, r)
    if r is not None:
        assert same(r, general(frame))
        assert M.decode(frame) is not None


def test_mutated_frames_of_every_kind_decode_alike():
    rng = random.Random(11)
    base = [M.encode(m) for m in _examples()]
    accepted = 0
    for _ in range(20_000):
        frame = bytearray(rng.choice(base))
        for _ in range(rng.randint(0, 3)):
            pos = rng.randrange(len(frame))
            if rng.random() < 0.5:
                frame[pos] ^= 1 << rng.randrange(8)
            else:
                frame[pos:pos + rng.randint(1, 4)] = rng.randbytes(rng.randint(0, 4))
        frame = bytes(frame)
        k, r = KERNEL.decode(frame), REF.decode(frame)
        assert same(k, r), frame.hex()
        if r is not None:
            accepted += 1
            assert same(r, general(frame)), frame.hex()
    assert accepted > 2_000                   # a good share still decodes: the checks were exercised


def test_only_exact_bytes_and_known_kinds_are_taken():
    frame = M.encode(M.Ack(ref=3))
    assert KERNEL.decode(bytearray(frame)) is None and REF.decode(bytearray(frame)) is None
    chunk = M.encode(M.PlanChunk(mission=1, job=1, chunk=0, n_chunks=1, size=1, crc32=0, start_index=0, data=b"x"))
    assert KERNEL.decode(chunk) is None          # PlanChunk checks more than its fields: the general path
    assert isinstance(M.decode(chunk), M.PlanChunk)
    assert same(KERNEL.decode(frame), M.Ack(ref=3))


def _examples() -> list[M.Message]:
    return [
        M.Telemetry(t_s=12.5, x=1.0, y=-2.0, z=0.0, lat_deg=48.1, lon_deg=11.5, heading_rad=0.3, speed_mps=2.5,
                    battery_pct=80.0, tank_l=120.0, mode="AUTO", armed=True, gnss=4, state=1, mission=3, index=120,
                    sections=0xFF),
        M.Telemetry(t_s=1.0),
        M.Command(command=M.CommandCode.ESTOP, mission=3, id=10),
        M.CommandAck(ref=10, command=M.CommandCode.PAUSE, ok=False, result="pause() -> DENIED: ü" * 3),
        M.Progress(mission=3, index=-1, state=1, coverage=1.0, id=2**40),
        M.Event(code=M.EventCode.FAILSAFE, severity=M.Severity.CRITICAL, text="geofence " * 40, mission=3, id=12),
        M.Error(ref=7, code="bad_message", text=""), M.Ack(ref=11), M.Heartbeat(), M.PlanAck(ref=9, mission=3, chunk=1),
        M.Welcome(ref=4, session="d1", heartbeat_s=0.5), M.Reply(ref=1, ok=True, result=b"\x00" * 300),
        M.Reply(ref=1, ok=True, result=-(2**63)), M.Reply(ref=1, ok=True, result=2**64 - 1),
        M.Request(op="ping", args={}), M.Hello(vehicle="t", vehicle_kind="", driver="", software="", session="s"),
        M.FleetState(t_s=1.0, vehicles=[], jobs=[]),
    ]


def _general_encode(msg: M.Message) -> bytes | None:
    try:
        return M._encode_general(msg)
    except (TypeError, ValueError, OverflowError):
        return None


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63,
                                   2**64 - 1, -1, -32, -33, -128, -129, -2**15, -2**15 - 1, -2**31, -2**31 - 1,
                                   -2**63, 2**64, -2**63 - 1, None, True, False, 0.0, -0.0, math.inf, math.nan,
                                   1e-310, "", "a" * 31, "a" * 32, "ü" * 128, "x" * 70_000, b"", b"\x00" * 256,
                                   b"\x01" * 70_000, "\ud800", np.float64(2.5), np.int64(3), bytearray(b"ab"),
                                   [1], {"a": 1}])
def test_encoding_matches_msgpack_byte_for_byte(value):
    msg = M.Reply(ref=1, ok=True, result=value, id=2**40)
    k, r = KERNEL.encode(msg), REF.encode(msg)
    assert k == r
    if k is not None:
        assert k == _general_encode(msg)
        assert same(KERNEL.decode(k), REF.decode(k))


@given(st.sampled_from(sorted(SPECS)), st.data())
def test_encoding_of_valid_messages_matches_the_general_encoder(kind, data):
    cls, schema = SPECS[kind]
    values = {}
    for name, check in schema.items():
        if check[0] == "container":
            values[name] = data.draw(st.sampled_from([[], [1, "a"]]), label=name)
            continue
        value = data.draw(valid(check), label=name)
        values[name] = (check[1][value] if check[0] == "enum" else
                        float(value) if check[0] == "float" else value)
    msg = cls(**values, id=data.draw(st.integers(0, 2**63 - 1)))
    k, r = KERNEL.encode(msg), REF.encode(msg)
    assert k == r
    if cls in (M.Hello, M.Request, M.FleetState):
        assert k is None                          # container fields: the general encoder's
        return
    assert k == M._encode_general(msg)
    assert same(KERNEL.decode(k), msg) and same(M.decode(k), msg)


def test_decoded_messages_are_frozen_and_complete():
    msg = KERNEL.decode(M.encode(M.Telemetry(t_s=2.0, mode="AUTO")))
    assert msg == M.Telemetry(t_s=2.0, mode="AUTO") or math.isnan(msg.x)
    with pytest.raises(AttributeError):
        msg.x = 1.0                               # type: ignore[misc]
    assert msg.body()["mode"] == "AUTO" and msg.mission == 0 and msg.index == -1
    assert KERNEL.decode(msgpack.packb({"v": 1, "kind": 9})) is None     # t_s is required
