"""The MAVLink mission protocol, vehicle side: upload, download, clear and set-current, for missions,
geofences and rally points.

The vehicle is the server. Upload: the ground station sends ``MISSION_COUNT``; the vehicle asks for each
item with ``MISSION_REQUEST_INT`` addressed to the uploader (MAVProxy drops requests addressed to anyone
else) and answers the last one with ``MISSION_ACK``. The vehicle drives the exchange, so it also owns the
retries: MAVSDK never resends an item on its own, it waits to be asked again. A new mission replaces the
old one only once every item has arrived and passed validation, so a broken upload never leaves half a
mission to fly.

Protocol timers run on the wall clock even when the simulation runs faster than real time: they pace an
exchange with a peer that lives in wall time.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Any, Callable

from ._mav_proto import (GLOBAL_FRAMES, MavCmd, MavFrame, MavMissionResult, MavMissionType)

__all__ = ["MissionItem", "MissionServer", "validate_items"]

logger = logging.getLogger(__name__)

REQUEST_RETRY_S = 0.5        # re-ask for a missing item after this long (wall clock)
REQUEST_RETRIES = 5          # then give up with OPERATION_CANCELLED
NAV_WITH_POSITION = frozenset({MavCmd.NAV_WAYPOINT, MavCmd.NAV_LOITER_UNLIM, MavCmd.NAV_LOITER_TIME,
                               MavCmd.NAV_LAND, MavCmd.NAV_TAKEOFF})
FENCE_COMMANDS = frozenset({MavCmd.NAV_FENCE_RETURN_POINT, MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                            MavCmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION, MavCmd.NAV_FENCE_CIRCLE_INCLUSION,
                            MavCmd.NAV_FENCE_CIRCLE_EXCLUSION})


@dataclass(frozen=True, slots=True)
class MissionItem:
    """One stored item, as ``MISSION_ITEM_INT`` carries it (lat/lon in degE7 for global frames)."""

    seq: int
    frame: int
    command: int
    current: int = 0
    autocontinue: int = 1
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    y: int = 0
    z: float = 0.0
    mission_type: int = MavMissionType.MISSION

    @property
    def lat_deg(self) -> float:
        return self.x * 1e-7

    @property
    def lon_deg(self) -> float:
        return self.y * 1e-7

    @property
    def has_position(self) -> bool:
        return self.frame in GLOBAL_FRAMES and (self.x != 0 or self.y != 0)

    @classmethod
    def from_msg(cls, msg: Any) -> "MissionItem":
        """From ``MISSION_ITEM_INT``, or the legacy float ``MISSION_ITEM`` (degrees in x/y)."""
        x, y = msg.x, msg.y
        if msg.get_type() == "MISSION_ITEM":
            scale = 1e7 if msg.frame in GLOBAL_FRAMES else 1.0
            x = int(round(x * scale)) if math.isfinite(x) else 0
            y = int(round(y * scale)) if math.isfinite(y) else 0
        return cls(msg.seq, msg.frame, msg.command, msg.current, msg.autocontinue, msg.param1, msg.param2,
                   msg.param3, msg.param4, int(x), int(y), msg.z, getattr(msg, "mission_type", 0))

    def int_msg(self, enc: Any, target_system: int, target_component: int) -> Any:
        return enc.mission_item_int_encode(target_system, target_component, self.seq, self.frame,
                                           self.command, self.current, self.autocontinue, self.param1,
                                           self.param2, self.param3, self.param4, self.x, self.y, self.z,
                                           self.mission_type)

    def float_msg(self, enc: Any, target_system: int, target_component: int) -> Any:
        scale = 1e-7 if self.frame in GLOBAL_FRAMES else 1.0
        return enc.mission_item_encode(target_system, target_component, self.seq, self.frame, self.command,
                                       self.current, self.autocontinue, self.param1, self.param2,
                                       self.param3, self.param4, self.x * scale, self.y * scale, self.z,
                                       self.mission_type)


def validate_items(items: tuple[MissionItem, ...], mission_type: int, first: int = 0
                   ) -> tuple[MavMissionResult, int]:
    """``(ACCEPTED, -1)`` or the first problem and the seq it is at. ``first`` skips a home item."""
    for item in items[first:]:
        positional = item.command in NAV_WITH_POSITION or item.command in FENCE_COMMANDS \
            or item.command == MavCmd.NAV_RALLY_POINT
        if positional and item.frame not in GLOBAL_FRAMES and item.frame != MavFrame.MISSION:
            return MavMissionResult.UNSUPPORTED_FRAME, item.seq
        if item.frame in GLOBAL_FRAMES:
            if not -900_000_000 <= item.x <= 900_000_000:
                return MavMissionResult.INVALID_PARAM5_X, item.seq
            if not -1_800_000_000 <= item.y <= 1_800_000_000:
                return MavMissionResult.INVALID_PARAM6_Y, item.seq
            if positional and not math.isfinite(item.z) and item.command != MavCmd.NAV_TAKEOFF:
                return MavMissionResult.INVALID_PARAM7, item.seq
        if mission_type == MavMissionType.FENCE and item.command not in FENCE_COMMANDS:
            return MavMissionResult.UNSUPPORTED, item.seq
        if mission_type == MavMissionType.RALLY and item.command != MavCmd.NAV_RALLY_POINT:
            return MavMissionResult.UNSUPPORTED, item.seq
    if mission_type == MavMissionType.FENCE:
        return _validate_fence(items)
    return MavMissionResult.ACCEPTED, -1


def _validate_fence(items: tuple[MissionItem, ...]) -> tuple[MavMissionResult, int]:
    """Polygon vertices come in runs whose length every vertex states in param1."""
    i = 0
    while i < len(items):
        item = items[i]
        if item.command in (MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                            MavCmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION):
            n = int(item.param1) if math.isfinite(item.param1) else 0
            run = items[i:i + n]
            if n < 3 or len(run) < n or any(v.command != item.command or int(v.param1) != n for v in run):
                return MavMissionResult.INVALID_PARAM1, item.seq
            i += n
            continue
        if item.command in (MavCmd.NAV_FENCE_CIRCLE_INCLUSION, MavCmd.NAV_FENCE_CIRCLE_EXCLUSION) \
                and not (math.isfinite(item.param1) and item.param1 > 0):
            return MavMissionResult.INVALID_PARAM1, item.seq
        i += 1
    return MavMissionResult.ACCEPTED, -1


@dataclass(slots=True)
class _Upload:
    peer: tuple[int, int]
    mission_type: int
    count: int
    items: list[MissionItem]
    last_request_s: float
    retries: int = 0


class MissionServer:
    """Serves the mission protocol for one vehicle.

    ``send(msg)`` transmits; ``commit(mission_type, items) -> result`` is asked to accept a complete,
    validated upload (the vehicle may still refuse it, e.g. a mission it cannot fly); ``home_item()``
    gives the item ArduPilot keeps at seq 0; ``set_current(seq) -> bool`` handles MISSION_SET_CURRENT.
    """

    def __init__(self, *, sysid: int, compid: int, encoder: Any, send: Callable[[Any], None],
                 commit: Callable[[int, tuple[MissionItem, ...]], MavMissionResult],
                 set_current: Callable[[int], bool], home_item: Callable[[], MissionItem] | None,
                 max_items: int, wall_clock: Callable[[], float],
                 supported_types: frozenset[int] = frozenset({0, 1, 2})) -> None:
        self.sysid, self.compid = sysid, compid
        self._enc = encoder
        self._send = send
        self._commit = commit
        self._set_current = set_current
        self._home_item = home_item
        self.max_items = max_items
        self._clock = wall_clock
        self.supported_types = supported_types
        self.stored: dict[int, tuple[MissionItem, ...]] = {t: () for t in supported_types}
        self._upload: _Upload | None = None
        self.uploads_completed = 0

    # -- helpers -------------------------------------------------------------------------------------
    def _for_us(self, msg: Any) -> bool:
        return msg.target_system in (0, self.sysid) and msg.target_component in (0, self.compid)

    def _ack(self, peer: tuple[int, int], result: MavMissionResult, mission_type: int) -> None:
        self._send(self._enc.mission_ack_encode(peer[0], peer[1], int(result), mission_type))

    def _request(self, up: _Upload) -> None:
        seq = len(up.items)
        self._send(self._enc.mission_request_int_encode(up.peer[0], up.peer[1], seq, up.mission_type))
        up.last_request_s = self._clock()

    def items(self, mission_type: int = MavMissionType.MISSION) -> tuple[MissionItem, ...]:
        """Stored items as a ground station downloads them (ArduPilot: home at seq 0)."""
        items = self.stored.get(mission_type, ())
        if mission_type == MavMissionType.MISSION and self._home_item is not None:
            home = self._home_item()
            return (home,) + items[1:] if items else (home,)
        return items

    @property
    def uploading(self) -> bool:
        return self._upload is not None

    # -- message handling ----------------------------------------------------------------------------
    def handle(self, msg: Any) -> bool:
        """Handle a mission-protocol message; False if ``msg`` is not one of them."""
        kind = msg.get_type()
        handler = _HANDLERS.get(kind)
        if handler is None:
            return False
        if hasattr(msg, "target_system") and not self._for_us(msg):
            return True
        handler(self, msg)
        return True

    def _on_count(self, msg: Any) -> None:
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        mtype = getattr(msg, "mission_type", 0)
        if mtype not in self.supported_types:
            self._ack(peer, MavMissionResult.UNSUPPORTED, mtype)
            return
        if self._upload is not None and self._upload.peer != peer:
            self._ack(peer, MavMissionResult.DENIED, mtype)
            return
        if msg.count > self.max_items:
            self._upload = None
            self._ack(peer, MavMissionResult.NO_SPACE, mtype)
            return
        if msg.count == 0:
            self._upload = None
            self._finish(_Upload(peer, mtype, 0, [], self._clock()))
            return
        self._upload = _Upload(peer, mtype, msg.count, [], self._clock())
        self._request(self._upload)

    def _on_item(self, msg: Any) -> None:
        up = self._upload
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        if up is None or peer != up.peer or getattr(msg, "mission_type", 0) != up.mission_type:
            return
        if msg.seq < len(up.items):        # a duplicate answer to a repeated request: already have it
            return
        if msg.seq > len(up.items):        # a gap: ask again for the one we need
            self._request(up)
            return
        up.items.append(MissionItem.from_msg(msg))
        up.retries = 0
        if len(up.items) == up.count:
            self._upload = None
            self._finish(up)
        else:
            self._request(up)

    def _finish(self, up: _Upload) -> None:
        items = tuple(up.items)
        first = 1 if (up.mission_type == MavMissionType.MISSION and self._home_item is not None) else 0
        result, seq = validate_items(items, up.mission_type, first)
        if result is MavMissionResult.ACCEPTED:
            if first and items:
                items = (self._home_item(),) + items[1:]
            result = self._commit(up.mission_type, items)
        if result is MavMissionResult.ACCEPTED:
            self.stored[up.mission_type] = items
            self.uploads_completed += 1
            logger.info("mission type %d: %d items accepted from %d/%d", up.mission_type, len(items),
                        *up.peer)
        else:
            logger.warning("mission type %d upload from %d/%d refused: %s at seq %d", up.mission_type,
                           *up.peer, result.name, seq)
        self._ack(up.peer, result, up.mission_type)

    def _on_ack(self, msg: Any) -> None:
        up = self._upload
        if up is not None and (msg.get_srcSystem(), msg.get_srcComponent()) == up.peer:
            logger.info("mission upload cancelled by %d/%d (%d)", *up.peer, msg.type)
            self._upload = None

    def _on_request_list(self, msg: Any) -> None:
        mtype = getattr(msg, "mission_type", 0)
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        if mtype not in self.supported_types:
            self._ack(peer, MavMissionResult.UNSUPPORTED, mtype)
            return
        self._send(self._enc.mission_count_encode(peer[0], peer[1], len(self.items(mtype)), mtype))

    def _on_request(self, msg: Any) -> None:
        mtype = getattr(msg, "mission_type", 0)
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        items = self.items(mtype) if mtype in self.supported_types else ()
        if not 0 <= msg.seq < len(items):
            self._ack(peer, MavMissionResult.INVALID_SEQUENCE, mtype)
            return
        item = replace(items[msg.seq], seq=msg.seq)
        if msg.get_type() == "MISSION_REQUEST_INT":
            self._send(item.int_msg(self._enc, *peer))
        else:
            self._send(item.float_msg(self._enc, *peer))

    def _on_clear(self, msg: Any) -> None:
        mtype = getattr(msg, "mission_type", 0)
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        types = self.supported_types if mtype == MavMissionType.ALL else {mtype}
        if not types <= self.supported_types:
            self._ack(peer, MavMissionResult.UNSUPPORTED, mtype)
            return
        result = MavMissionResult.ACCEPTED
        for t in sorted(types):
            result = self._commit(t, ())
            if result is not MavMissionResult.ACCEPTED:
                break
            self.stored[t] = ()
        self._ack(peer, result, mtype)

    def _on_set_current(self, msg: Any) -> None:
        self._set_current(msg.seq)

    # -- timers --------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Re-request a missing item, or give up on a stalled upload."""
        up = self._upload
        if up is None or self._clock() - up.last_request_s < REQUEST_RETRY_S:
            return
        if up.retries >= REQUEST_RETRIES:
            logger.warning("mission upload from %d/%d stalled at item %d of %d; cancelled", *up.peer,
                           len(up.items), up.count)
            self._upload = None
            self._ack(up.peer, MavMissionResult.OPERATION_CANCELLED, up.mission_type)
            return
        up.retries += 1
        self._request(up)


_HANDLERS: dict[str, Callable[[MissionServer, Any], None]] = {
    "MISSION_COUNT": MissionServer._on_count,
    "MISSION_ITEM_INT": MissionServer._on_item,
    "MISSION_ITEM": MissionServer._on_item,
    "MISSION_ACK": MissionServer._on_ack,
    "MISSION_REQUEST_LIST": MissionServer._on_request_list,
    "MISSION_REQUEST_INT": MissionServer._on_request,
    "MISSION_REQUEST": MissionServer._on_request,
    "MISSION_CLEAR_ALL": MissionServer._on_clear,
    "MISSION_SET_CURRENT": MissionServer._on_set_current,
}
