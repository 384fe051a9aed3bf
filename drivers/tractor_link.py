"""The tractor link: agrifleet's small protocol between the agent (tractor driver) and a tractor ECU.

One msgpack map per UDP datagram (``docs/tractor_link.md`` is the specification). Every message carries
``v`` (protocol version), ``k`` (:class:`LinkMsg`) and ``seq`` (the sender's counter). The ECU answers the
address that last sent it HELLO or COMMAND, so the driver needs no fixed port. Decoding validates types
and ranges and raises :class:`~agrifleet.core.errors.ProtocolError`; both ends count and drop a bad
datagram and keep serving.
"""
from __future__ import annotations

import math
from enum import IntEnum
from typing import Any

from agrifleet.core.codec import CodecError, packb, unpackb
from agrifleet.core.errors import ProtocolError

__all__ = ["LINK_VERSION", "LinkMsg", "EcuFault", "decode", "encode", "MAX_DATAGRAM"]

LINK_VERSION = 1
MAX_DATAGRAM = 8192


class LinkMsg(IntEnum):
    """Message kinds. Values travel on the wire; never renumber."""

    HELLO = 1      # driver -> ECU: who are you?
    IDENT = 2      # ECU -> driver: vehicle id and the geometry guidance needs
    COMMAND = 3    # driver -> ECU: steering, speed, sections, engage (at the control rate)
    STATE = 4      # ECU -> driver: pose, speed, steering, sections, fix quality, flags (at the state rate)
    ESTOP = 5      # driver -> ECU: stop now, latched until RESET
    RESET = 6      # driver -> ECU: clear a latched e-stop
    ACK = 7        # ECU -> driver: answer to HELLO/ESTOP/RESET


class EcuFault(IntEnum):
    """Why the ECU is not following commands. Values travel on the wire."""

    NONE = 0
    WATCHDOG = 1   # no fresh COMMAND within the watchdog time: stopped, implement off
    ESTOP = 2      # latched emergency stop
    NO_FIX = 3     # no GNSS position


# Required fields per kind and their types (float fields accept ints).
_FIELDS: dict[LinkMsg, dict[str, type | tuple[type, ...]]] = {
    LinkMsg.HELLO: {"vid": str},
    LinkMsg.IDENT: {"vid": str, "wheelbase_m": float, "max_steer_rad": float, "max_speed_mps": float,
                    "implement_lag_m": float, "reverse": bool, "crs": str},
    LinkMsg.COMMAND: {"steer": float, "speed": float, "sections": int, "engage": bool},
    LinkMsg.STATE: {"t": float, "heading": float, "speed": float, "steer": float, "sections": int,
                    "gnss": int, "engaged": bool, "fault": int, "tank": float},
    LinkMsg.ESTOP: {},
    LinkMsg.RESET: {},
    LinkMsg.ACK: {"ack": int, "ok": bool},
}


def encode(kind: LinkMsg, seq: int, **fields: Any) -> bytes:
    data = packb({"v": LINK_VERSION, "k": int(kind), "seq": int(seq), **fields})
    if len(data) > MAX_DATAGRAM:
        raise ProtocolError(f"tractor link: {kind.name} of {len(data)} bytes exceeds {MAX_DATAGRAM}")
    return data


def _type_ok(value: Any, want: type | tuple[type, ...]) -> bool:
    if want is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want)


def decode(data: bytes) -> tuple[LinkMsg, dict[str, Any]]:
    """Validate one datagram; returns its kind and its map."""
    if len(data) > MAX_DATAGRAM:
        raise ProtocolError(f"tractor link: datagram of {len(data)} bytes is too long")
    try:
        msg = unpackb(data, max_bytes=MAX_DATAGRAM)
    except CodecError as exc:
        raise ProtocolError(f"tractor link: {exc}") from None
    if not isinstance(msg, dict):
        raise ProtocolError("tractor link: message is not a map")
    if msg.get("v") != LINK_VERSION:
        raise ProtocolError(f"tractor link: version {msg.get('v')!r} is not {LINK_VERSION}")
    try:
        kind = LinkMsg(msg.get("k"))
    except (ValueError, TypeError):
        raise ProtocolError(f"tractor link: unknown message kind {msg.get('k')!r}") from None
    if not _type_ok(msg.get("seq"), int):
        raise ProtocolError(f"tractor link: {kind.name} without an integer seq")
    for name, want in _FIELDS[kind].items():
        if name not in msg or not _type_ok(msg[name], want):
            raise ProtocolError(f"tractor link: {kind.name} field {name!r} missing or not {want.__name__}")
        if want is float and not math.isfinite(msg[name]):
            raise ProtocolError(f"tractor link: {kind.name} field {name!r} is not finite")
    if kind is LinkMsg.STATE:
        has_local = _type_ok(msg.get("x"), float) and _type_ok(msg.get("y"), float)
        has_geo = _type_ok(msg.get("lat"), float) and _type_ok(msg.get("lon"), float)
        if not (has_local or has_geo):
            raise ProtocolError("tractor link: STATE carries neither x/y nor lat/lon")
    return kind, msg
