"""The fleet wire protocol: one typed message class per kind, encoded as a msgpack map.

Every message is a map ``{"v": 1, "kind": <Kind>, "id": <int>, ...fields}``. ``id`` is the sender's
sequence number on the link (0 for messages that are never acknowledged: heartbeats, telemetry, state).
Acknowledgements name the message they answer in ``ref``. numpy arrays travel as msgpack ExtType 1
(:mod:`agrifleet.core.codec`); a plan travels as the bytes of an agrifleet plan file cut into chunks.

:func:`decode` validates the whole message against its schema and raises :class:`ProtocolError` with one
line saying what is wrong; it never raises anything else, whatever the bytes. ``docs/protocol.md``
documents every kind for people who write agents in other languages.
"""
from __future__ import annotations

import math
import operator
import threading
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import IntEnum
from typing import Any, ClassVar

from agrifleet.ext import kernel

from .codec import CodecError, packer, unpackb
from .errors import ProtocolError

__all__ = [
    "ACK_KINDS",
    "MAX_FRAME_BYTES",
    "MESSAGE_TYPES",
    "SCHEMA_VERSION",
    "Ack",
    "Command",
    "CommandAck",
    "CommandCode",
    "Error",
    "Event",
    "EventCode",
    "FleetState",
    "Heartbeat",
    "Hello",
    "Kind",
    "Message",
    "MissionPhase",
    "PlanAck",
    "PlanChunk",
    "Progress",
    "Reply",
    "Request",
    "Severity",
    "Telemetry",
    "Welcome",
    "decode",
    "encode",
]

SCHEMA_VERSION = 1
MAX_FRAME_BYTES = 8 << 20          # one frame; plans larger than this travel in chunks
_MAX_TEXT = 4096
_MAX_ID = (1 << 63) - 1


class Kind(IntEnum):
    """Message kinds. Values travel on the wire; never renumber."""

    HELLO = 1          # agent -> dispatcher: register (also after every reconnect)
    WELCOME = 2        # dispatcher -> agent: registered (acknowledges HELLO)
    HEARTBEAT = 3      # both ways
    PLAN = 4           # dispatcher -> agent: one chunk of a mission's plan
    PLAN_ACK = 5       # agent -> dispatcher: chunk received (and, on the last, plan accepted or not)
    COMMAND = 6        # dispatcher -> agent
    COMMAND_ACK = 7    # agent -> dispatcher
    PROGRESS = 8       # agent -> dispatcher: index reached, coverage so far
    TELEMETRY = 9      # agent -> dispatcher, never acknowledged
    EVENT = 10         # agent -> dispatcher: fault, failsafe, ...
    ERROR = 11         # either way: the peer sent something that could not be served
    ACK = 12           # either way: plain acknowledgement of PROGRESS and EVENT
    REQUEST = 13       # operator client -> dispatcher (job submit/list/status/pause/resume/abort)
    REPLY = 14         # dispatcher -> operator client
    FLEET_STATE = 15   # dispatcher PUB socket: periodic snapshot of vehicles and jobs


class CommandCode(IntEnum):
    START = 1
    PAUSE = 2
    RESUME = 3
    ABORT = 4
    RETURN_HOME = 5
    ESTOP = 6


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2


class EventCode(IntEnum):
    """What happened on the vehicle. ``FAULT`` and ``FAILSAFE`` end the mission on that vehicle."""

    INFO = 0
    FAULT = 1            # the vehicle cannot go on (driver error, hardware fault)
    FAILSAFE = 2         # the autopilot took over (geofence, link loss, low battery RTL)
    LOW_BATTERY = 3
    LOW_TANK = 4
    GNSS_DEGRADED = 5
    MISSION_COMPLETE = 6
    DRIVER_ERROR = 7     # a command failed; the mission may go on


class MissionPhase(IntEnum):
    """Dispatcher-side life of a mission (the vehicle-side states are ``drivers.base.MissionState``)."""

    QUEUED = 0        # waiting for its vehicle to finish earlier work
    SENT = 1          # plan being delivered
    READY = 2         # plan acknowledged, not started
    ACTIVE = 3
    PAUSED = 4
    COMPLETE = 5
    ABORTED = 6
    FAILED = 7        # vehicle reported a fault
    REASSIGNED = 8    # vehicle lost; its unfinished work went to other missions

    @property
    def is_final(self) -> bool:
        return self in (MissionPhase.COMPLETE, MissionPhase.ABORTED, MissionPhase.FAILED,
                        MissionPhase.REASSIGNED)


# --- field checkers: each takes (name, value) and returns the clean value or raises ProtocolError ------
# Each checker also carries ``spec``, the same rule as data: the schema-compiled decoders inline it and the
# compiled wire codec (``ext/_wire``) applies it without calling back into Python.

Check = Callable[[str, Any], Any]


def _fail(name: str, value: Any, want: str) -> ProtocolError:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return ProtocolError(f"field {name!r} = {text} is not {want}")


def _int(lo: int = 0, hi: int = _MAX_ID) -> Check:
    def check(name: str, v: Any) -> int:
        if type(v) is not int or not lo <= v <= hi:
            raise _fail(name, v, f"an integer in [{lo}, {hi}]")
        return v
    check.spec = ("int", lo, hi)  # type: ignore[attr-defined]
    return check


def _float(lo: float = -math.inf, hi: float = math.inf, nan: bool = True) -> Check:
    def check(name: str, v: Any) -> float:
        if type(v) is int:
            v = float(v)
        if type(v) is not float or not (lo <= v <= hi or (nan and math.isnan(v))):
            raise _fail(name, v, f"a number in [{lo}, {hi}]" + (" or NaN" if nan else ""))
        return v
    check.spec = ("float", lo, hi, nan)  # type: ignore[attr-defined]
    return check


def _str(max_len: int = 128, empty: bool = True) -> Check:
    def check(name: str, v: Any) -> str:
        if type(v) is not str or len(v) > max_len or (not empty and not v):
            raise _fail(name, v, f"a {'' if empty else 'non-empty '}string of at most {max_len} characters")
        return v
    check.spec = ("str", max_len, empty)  # type: ignore[attr-defined]
    return check


def _bool(name: str, v: Any) -> bool:
    if type(v) is not bool:
        raise _fail(name, v, "true or false")
    return v


_bool.spec = ("bool",)  # type: ignore[attr-defined]


def _bytes(max_len: int) -> Check:
    def check(name: str, v: Any) -> bytes:
        if type(v) is not bytes or len(v) > max_len:
            raise _fail(name, v, f"binary data of at most {max_len} bytes")
        return v
    check.spec = ("bytes", max_len)  # type: ignore[attr-defined]
    return check


def _enum(enum: type[IntEnum]) -> Check:
    values = {int(e): e for e in enum}

    def check(name: str, v: Any) -> IntEnum:
        if type(v) is not int or v not in values:
            raise _fail(name, v, f"one of {enum.__name__} {sorted(values)}")
        return values[v]
    check.spec = ("enum", values)  # type: ignore[attr-defined]
    return check


def _strs(max_items: int = 64) -> Check:
    item = _str()

    def check(name: str, v: Any) -> tuple[str, ...]:
        if type(v) is not list or len(v) > max_items:
            raise _fail(name, v, f"a list of at most {max_items} strings")
        return tuple(item(name, x) for x in v)
    check.spec = ("container",)  # type: ignore[attr-defined]
    return check


def _map(name: str, v: Any) -> dict[str, Any]:
    if type(v) is not dict or not all(type(k) is str for k in v):
        raise _fail(name, v, "a map with string keys")
    return v


def _list(name: str, v: Any) -> list[Any]:
    if type(v) is not list:
        raise _fail(name, v, "a list")
    return v


def _any(name: str, v: Any) -> Any:
    return v


_map.spec = _list.spec = ("container",)  # type: ignore[attr-defined]
_any.spec = ("any",)  # type: ignore[attr-defined]


# --- messages ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Message:
    """Base of all messages. ``id`` is set by the transport (sequence number on the link)."""

    KIND: ClassVar[Kind]
    KIND_INT: ClassVar[int]
    SCHEMA: ClassVar[Mapping[str, Check]] = {}
    id: int = field(default=0, kw_only=True)

    def body(self) -> dict[str, Any]:
        """The message's fields as a map (without the envelope)."""
        names = self.SCHEMA
        if not names:
            return {}
        values = _GETTERS[type(self)](self)
        return dict(zip(names, values if len(names) > 1 else (values,)))

    def with_id(self, msg_id: int) -> Message:
        """A copy numbered ``msg_id`` (the transport numbers reliable messages; the original stays as it is)."""
        cls = type(self)
        out = object.__new__(cls)
        for name, setter in _SETTERS[cls]:
            setter(out, getattr(self, name))
        _SETTERS[Message][0][1](out, msg_id)
        return out


@dataclass(frozen=True, slots=True)
class Hello(Message):
    """Register a vehicle. Sent on connect and after every reconnect; says what the agent still holds."""

    KIND = Kind.HELLO
    vehicle: str
    vehicle_kind: str
    driver: str
    software: str
    session: str                               # random per agent process; a new one means "restarted"
    kinds: tuple[str, ...] = ()                # Capabilities.kinds
    features: tuple[str, ...] = ()             # Capabilities.features
    max_mission_items: int = 0
    spec: dict[str, Any] = field(default_factory=dict)   # VehicleSpec.to_dict(), when the driver has one
    mission: int = 0                           # mission the agent holds, 0 = none
    index: int = -1                            # last plan index reached on that mission
    state: int = 0                             # drivers.base.MissionState of that mission
    SCHEMA: ClassVar[Mapping[str, Check]] = {"vehicle": _str(64, empty=False), "vehicle_kind": _str(32), "driver": _str(64),
              "software": _str(64), "session": _str(64, empty=False), "kinds": _strs(), "features": _strs(),
              "max_mission_items": _int(), "spec": _map, "mission": _int(), "index": _int(-1),
              "state": _int(0, 255)}


@dataclass(frozen=True, slots=True)
class Welcome(Message):
    KIND = Kind.WELCOME
    ref: int
    session: str                               # dispatcher run; a new one means "dispatcher restarted"
    heartbeat_s: float
    SCHEMA: ClassVar[Mapping[str, Check]] = {"ref": _int(), "session": _str(64, empty=False), "heartbeat_s": _float(0.001, 3600.0, nan=False)}


@dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    KIND = Kind.HEARTBEAT
    SCHEMA: ClassVar[Mapping[str, Check]] = {}


@dataclass(frozen=True, slots=True)
class PlanChunk(Message):
    """Chunk ``chunk`` of ``n_chunks`` of an agrifleet plan file (msgpack) for ``mission``."""

    KIND = Kind.PLAN
    mission: int
    job: int
    chunk: int
    n_chunks: int
    size: int                                  # bytes of the whole plan file
    crc32: int                                 # zlib CRC-32 of the whole plan file
    start_index: int                           # drive from this sample (resume)
    data: bytes
    SCHEMA: ClassVar[Mapping[str, Check]] = {"mission": _int(1), "job": _int(), "chunk": _int(0, 1 << 20), "n_chunks": _int(1, 1 << 20),
              "size": _int(1, 1 << 34), "crc32": _int(0, (1 << 32) - 1), "start_index": _int(),
              "data": _bytes(MAX_FRAME_BYTES)}

    def __post_init__(self) -> None:
        if self.chunk >= self.n_chunks:
            raise ProtocolError(f"plan chunk {self.chunk} of {self.n_chunks} is out of range")


@dataclass(frozen=True, slots=True)
class PlanAck(Message):
    KIND = Kind.PLAN_ACK
    ref: int
    mission: int
    chunk: int
    complete: bool = False                     # every chunk arrived and the plan was handed to the driver
    ok: bool = True                            # false: the plan was refused (reason says why)
    reason: str = ""
    SCHEMA: ClassVar[Mapping[str, Check]] = {"ref": _int(), "mission": _int(1), "chunk": _int(0, 1 << 20), "complete": _bool, "ok": _bool,
              "reason": _str(_MAX_TEXT)}


@dataclass(frozen=True, slots=True)
class Command(Message):
    KIND = Kind.COMMAND
    command: CommandCode
    mission: int = 0                           # 0: whatever the vehicle is doing
    SCHEMA: ClassVar[Mapping[str, Check]] = {"command": _enum(CommandCode), "mission": _int()}


@dataclass(frozen=True, slots=True)
class CommandAck(Message):
    KIND = Kind.COMMAND_ACK
    ref: int
    command: CommandCode
    ok: bool
    result: str = ""                           # the driver's answer, e.g. "start() -> DENIED"
    SCHEMA: ClassVar[Mapping[str, Check]] = {"ref": _int(), "command": _enum(CommandCode), "ok": _bool, "result": _str(_MAX_TEXT)}


@dataclass(frozen=True, slots=True)
class Progress(Message):
    """Plan index reached on a mission. Monotonic: the dispatcher keeps the largest it acknowledged."""

    KIND = Kind.PROGRESS
    mission: int
    index: int
    state: int                                 # drivers.base.MissionState
    coverage: float = 0.0                      # fraction of the plan's working length done
    SCHEMA: ClassVar[Mapping[str, Check]] = {"mission": _int(1), "index": _int(-1), "state": _int(0, 255),
              "coverage": _float(0.0, 1.0, nan=False)}


@dataclass(frozen=True, slots=True)
class Telemetry(Message):
    KIND = Kind.TELEMETRY
    t_s: float                                 # agent monotonic clock at the reading
    x: float = math.nan
    y: float = math.nan
    z: float = math.nan
    lat_deg: float = math.nan
    lon_deg: float = math.nan
    heading_rad: float = math.nan
    speed_mps: float = math.nan
    battery_pct: float = math.nan
    tank_l: float = math.nan
    mode: str = ""
    armed: bool = False
    gnss: int = 0                              # drivers.base.GnssQuality
    state: int = 0                             # drivers.base.MissionState
    mission: int = 0
    index: int = -1
    sections: int = 0
    SCHEMA: ClassVar[Mapping[str, Check]] = {"t_s": _float(), "x": _float(), "y": _float(), "z": _float(), "lat_deg": _float(-90.0, 90.0),
              "lon_deg": _float(-180.0, 180.0), "heading_rad": _float(), "speed_mps": _float(),
              "battery_pct": _float(), "tank_l": _float(), "mode": _str(32), "armed": _bool,
              "gnss": _int(0, 255), "state": _int(0, 255), "mission": _int(), "index": _int(-1),
              "sections": _int(0, (1 << 32) - 1)}


@dataclass(frozen=True, slots=True)
class Event(Message):
    KIND = Kind.EVENT
    code: EventCode
    severity: Severity
    text: str = ""
    mission: int = 0
    SCHEMA: ClassVar[Mapping[str, Check]] = {"code": _enum(EventCode), "severity": _enum(Severity), "text": _str(_MAX_TEXT),
              "mission": _int()}


@dataclass(frozen=True, slots=True)
class Error(Message):
    KIND = Kind.ERROR
    ref: int                                   # id of the offending message, 0 when unknown
    code: str                                  # AgrifleetError.code, e.g. "bad_message"
    text: str
    SCHEMA: ClassVar[Mapping[str, Check]] = {"ref": _int(), "code": _str(64), "text": _str(_MAX_TEXT)}


@dataclass(frozen=True, slots=True)
class Ack(Message):
    KIND = Kind.ACK
    ref: int
    SCHEMA: ClassVar[Mapping[str, Check]] = {"ref": _int(1)}


@dataclass(frozen=True, slots=True)
class Request(Message):
    """An operator's request: ``op`` is one of submit, list, status, pause, resume, abort, vehicles."""

    KIND = Kind.REQUEST
    op: str
    args: dict[str, Any] = field(default_factory=dict)
    SCHEMA: ClassVar[Mapping[str, Check]] = {"op": _str(32, empty=False), "args": _map}


@dataclass(frozen=True, slots=True)
class Reply(Message):
    KIND = Kind.REPLY
    ref: int
    ok: bool
    result: Any = None
    error: str = ""
    SCHEMA: ClassVar[Mapping[str, Check]] = {"ref": _int(), "ok": _bool, "result": _any, "error": _str(_MAX_TEXT)}


@dataclass(frozen=True, slots=True)
class FleetState(Message):
    KIND = Kind.FLEET_STATE
    t_s: float
    vehicles: list[Any]
    jobs: list[Any]
    SCHEMA: ClassVar[Mapping[str, Check]] = {"t_s": _float(), "vehicles": _list, "jobs": _list}


def _install_fast_init(cls: type[Message]) -> None:
    """Replace the frozen dataclass ``__init__`` (one ``object.__setattr__`` call per field) by one that
    writes the slots directly: same signature, same defaults, same ``__post_init__``; messages are built
    for every telemetry reading, so this halves the cost of the agent's hottest line."""
    params, body = [], []
    env: dict[str, Any] = {}
    kw_only = []
    for k, f in enumerate(fields(cls)):
        env[f"s{k}"] = _slot_setter(cls, f.name)
        if f.default is not MISSING:
            env[f"d{k}"] = f.default
            spec = f"{f.name}=d{k}"
            body.append(f"    s{k}(self, {f.name})")
        elif f.default_factory is not MISSING:
            env[f"f{k}"] = f.default_factory
            spec = f"{f.name}=_NONE"
            body.append(f"    s{k}(self, f{k}() if {f.name} is _NONE else {f.name})")
        else:
            spec = f.name
            body.append(f"    s{k}(self, {f.name})")
        (kw_only if f.kw_only else params).append(spec)
    env["_NONE"] = _MISSING
    signature = ", ".join(["self", *params] + (["*", *kw_only] if kw_only else []))
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec(f"def __init__({signature}):\n" + "\n".join(body) + "\n", env)  # noqa: S102 - built from fields
    env["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = env["__init__"]  # type: ignore[misc]
    cls.KIND_INT = int(cls.KIND)  # type: ignore[attr-defined]


MESSAGE_TYPES: dict[Kind, type[Message]] = {cls.KIND: cls for cls in (
    Hello, Welcome, Heartbeat, PlanChunk, PlanAck, Command, CommandAck, Progress, Telemetry, Event, Error,
    Ack, Request, Reply, FleetState)}

ACK_KINDS = frozenset({Kind.WELCOME, Kind.PLAN_ACK, Kind.COMMAND_ACK, Kind.ACK, Kind.REPLY})
"""Kinds whose ``ref`` acknowledges a message the peer sent with a non-zero ``id``."""

_MISSING = object()


def _slot(cls: type, name: str) -> Any:
    """The member descriptor of slot ``name`` (defined on ``cls`` or a base class)."""
    return next(c for c in cls.__mro__ if name in c.__dict__).__dict__[name]


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot descriptor's setter: writes a frozen instance's field without going through ``__setattr__``."""
    return _slot(cls, name).__set__


def _compile_decoder(cls: type[Message]) -> Callable[[dict[str, Any], int], Message]:
    """A decoder specialised for ``cls``: the checks of its schema inlined for the common field types (the
    checker itself runs only to word the error), defaults filled, the frozen instance built directly.
    Decoding telemetry is the dispatcher's hottest path; this makes it about twice as fast as calling a
    checker per field and the dataclass constructor."""
    env: dict[str, Any] = {"_M": _MISSING, "_new": object.__new__, "cls": cls,
                           "ProtocolError": ProtocolError, "_allowed": frozenset(cls.SCHEMA) | _ENVELOPE}
    lines = ["def decode_body(doc, msg_id):",
             "    if not doc.keys() <= _allowed:",
             "        raise ProtocolError(f'unknown field {next(k for k in doc if k not in _allowed)!r}')",
             "    m = _new(cls)",
             "    get = doc.get",
             "    set_id(m, msg_id)"]
    env["set_id"] = _slot_setter(cls, "id")
    by_name = {f.name: f for f in fields(cls)}
    for k, (name, check) in enumerate(cls.SCHEMA.items()):
        env[f"c{k}"] = check
        f = by_name[name]
        env[f"s{k}"] = _slot_setter(cls, name)
        lines.append(f"    v = get({name!r}, _M)")
        if f.default is not MISSING:
            env[f"d{k}"] = f.default
            lines.append(f"    if v is _M: v = d{k}")
            lines.append("    else:")
        elif f.default_factory is not MISSING:
            env[f"d{k}"] = f.default_factory
            lines.append(f"    if v is _M: v = d{k}()")
            lines.append("    else:")
        else:
            lines.append(f"    if v is _M: raise ProtocolError('missing field(s) {name}')")
            lines.append("    else:")
        fast = check.spec  # type: ignore[attr-defined]
        call = f"v = c{k}({name!r}, v)"
        if fast[0] not in ("int", "float", "str", "bool"):
            lines.append(f"        {call}")
        elif fast[0] == "int":
            env[f"lo{k}"], env[f"hi{k}"] = fast[1], fast[2]
            lines.append(f"        if type(v) is not int or not lo{k} <= v <= hi{k}: {call}")
        elif fast[0] == "float" and fast[1] == -math.inf and fast[2] == math.inf and fast[3]:
            lines.append(f"        if type(v) is not float: {call}")      # any float will do, NaN too
        elif fast[0] == "float":
            env[f"lo{k}"], env[f"hi{k}"] = fast[1], fast[2]
            nan = " or v != v" if fast[3] else ""
            lines.append(f"        if type(v) is not float or not (lo{k} <= v <= hi{k}{nan}): {call}")
        elif fast[0] == "str":
            empty = "" if fast[2] else " or not v"
            lines.append(f"        if type(v) is not str or len(v) > {fast[1]}{empty}: {call}")
        else:
            lines.append(f"        if type(v) is not bool: {call}")
        lines.append(f"    s{k}(m, v)")
    if hasattr(cls, "__post_init__"):
        lines.append("    m.__post_init__()")
    lines.append("    return m")
    exec("\n".join(lines), env)  # noqa: S102 - code built above from the schema, no outside input
    return env["decode_body"]


_KINDS = {int(k): k for k in Kind}
for _cls in MESSAGE_TYPES.values():
    _install_fast_init(_cls)
_ENVELOPE = frozenset({"v", "kind", "id"})
_SETTERS = {cls: tuple((f.name, _slot_setter(cls, f.name)) for f in fields(cls))
            for cls in (Message, *MESSAGE_TYPES.values())}
_GETTERS = {cls: operator.attrgetter(*cls.SCHEMA) for cls in MESSAGE_TYPES.values() if cls.SCHEMA}
_DECODERS = {kind: _compile_decoder(cls) for kind, cls in MESSAGE_TYPES.items()}
_DECODERS_BY_INT = {int(kind): dec for kind, dec in _DECODERS.items()}


def _wire_table() -> list[tuple[int, type[Message], Any, tuple[tuple[str, tuple[Any, ...], tuple[str, Any], Any], ...]]]:
    """The schemas as data for the compiled wire codec (``ext/_wire``): per kind its class, the member
    descriptors of its slots, each field's check and default. A kind whose class checks more than its fields
    (``__post_init__``) is left to the general decoder."""
    table = []
    for kind, cls in MESSAGE_TYPES.items():
        if hasattr(cls, "__post_init__"):
            continue
        by_name = {f.name: f for f in fields(cls)}
        rows = []
        for name, check in cls.SCHEMA.items():
            f = by_name[name]
            default: tuple[str, Any] = (("value", f.default) if f.default is not MISSING else
                                        ("factory", f.default_factory) if f.default_factory is not MISSING else
                                        ("required", None))
            rows.append((name, check.spec, default, _slot(cls, name)))  # type: ignore[attr-defined]
        table.append((int(kind), cls, _slot(cls, "id"), tuple(rows)))
    return table


# Messages of scalars (telemetry, commands, acks, progress: nearly all the traffic) are decoded and encoded by
# the compiled codec; it answers None for anything else (containers, bad frames), which the general code
# below then decodes or words as an error. AGRIFLEET_PUREPYTHON=1 selects its Python reference.
_WIRE = kernel("wire").Codec(_wire_table())
_wire_decode, _wire_encode = _WIRE.decode, _WIRE.encode

_PACKERS = threading.local()


def encode(msg: Message) -> bytes:
    frame = _wire_encode(msg)
    return frame if frame is not None else _encode_general(msg)


def _encode_general(msg: Message) -> bytes:
    """Any message, through a map and msgpack's packer (numpy values, containers)."""
    doc = msg.body()
    doc["v"] = SCHEMA_VERSION
    doc["kind"] = msg.KIND_INT
    doc["id"] = msg.id
    try:
        pack = _PACKERS.pack
    except AttributeError:
        pack = _PACKERS.pack = packer().pack
    return pack(doc)


def decode(frame: bytes) -> Message:
    """Bytes -> validated message; raises :class:`ProtocolError` (one line) on anything malformed."""
    if len(frame) > MAX_FRAME_BYTES + 4096:
        raise ProtocolError(f"frame of {len(frame)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    msg = _wire_decode(frame)
    return msg if msg is not None else _decode_general(frame)


def _decode_general(frame: bytes) -> Message:
    """Any frame, through msgpack's unpacker and the schema-compiled decoders; words every error."""
    try:
        doc = unpackb(frame)
    except CodecError as exc:
        raise ProtocolError(str(exc)) from None
    if type(doc) is not dict:
        raise ProtocolError(f"message is a {type(doc).__name__}, not a map")
    version = doc.get("v")
    if version != SCHEMA_VERSION or type(version) is not int:
        raise ProtocolError(f"schema version {version!r} is not supported (this end speaks {SCHEMA_VERSION})")
    kind = doc.get("kind")
    decode_body = _DECODERS_BY_INT.get(kind) if type(kind) is int else None
    if decode_body is None:
        raise ProtocolError(f"unknown message kind {kind!r}")
    msg_id = doc.get("id", 0)
    try:
        if type(msg_id) is not int or not 0 <= msg_id <= _MAX_ID:
            raise ProtocolError(f"message id {msg_id!r} is not a non-negative integer")
        return decode_body(doc, msg_id)
    except ProtocolError as exc:
        raise ProtocolError(f"{_KINDS[kind].name.lower()}: {exc}") from None
