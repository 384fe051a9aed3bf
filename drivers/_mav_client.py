"""The ground-station side of one MAVLink link: a reader thread, heartbeats, commands and the mission
protocol as a client.

One thread owns the socket at a time. Normally that is the reader thread, which blocks in ``select``
(never polls with sleeps) and hands every message to ``on_message``. A request/response exchange (a
command and its ACK, a mission upload) takes the socket over: the calling thread sends, then reads and
dispatches messages itself until its answer arrives, so a 1,000-item upload costs one round trip per item
and no thread hand-offs. A wake-up pipe gets the reader out of ``select`` at once when a caller wants the
socket. Ground-station heartbeats go out at 1 Hz from whichever thread holds the socket, so an autopilot's
link-loss failsafe stays quiet during long exchanges too.
"""
from __future__ import annotations

import collections
import logging
import math
import os
import select
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterator, Sequence

from agrifleet.core.errors import CommandRejected, ConnectionLost, DriverTimeout
from agrifleet.sim._mav_links import Link
from agrifleet.sim._mav_proto import GLOBAL_FRAMES, MavMissionResult, MavResult, MavType

from ._mav_fastlane import Reply, UploadLane

__all__ = ["MavClient", "WireItem"]

logger = logging.getLogger(__name__)

WireItem = tuple[int, int, int, int, float, float, float, float, int, int, float]
"""``(frame, command, current, autocontinue, p1, p2, p3, p4, x degE7, y degE7, z)`` of MISSION_ITEM_INT."""

COUNT_RETRY_S = 0.5          # resend MISSION_COUNT / MISSION_REQUEST_LIST when nothing comes back
COUNT_RETRIES = 5
ITEM_TIMEOUT_S = 3.0         # the vehicle owns item retries (it re-requests); give up after this silence


class MavClient:
    """A MAVLink link to one vehicle (``target_system``, component 1) from a ground-station identity."""

    def __init__(self, url: str, *, source_system: int, source_component: int, signing_key: bytes | None,
                 on_message: Callable[[Any], None], clock: Callable[[], float] = time.monotonic,
                 heartbeat_period_s: float = 1.0) -> None:
        self.link = Link(url, sysid=source_system, compid=source_component, signing_key=signing_key)
        self.conn = self.link.conn
        self.mav = self.conn.mav
        self.target_system = 0
        self.target_component = 1
        self._on_message = on_message
        self._clock = clock
        self._hb_period = heartbeat_period_s
        self._next_hb = -math.inf
        self._io = threading.Lock()
        self._callers = 0
        self._callers_lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stop = threading.Event()
        self._match: Callable[[Any], bool] | None = None
        self._matches: collections.deque[Any] = collections.deque()
        self._lane = UploadLane(self.conn)
        self._thread = threading.Thread(target=self._reader, name="agrifleet-mavlink", daemon=True)
        self._thread.start()
        self.last_rx = -math.inf

    # -- socket ownership ----------------------------------------------------------------------------
    @contextmanager
    def exchange(self) -> Iterator[None]:
        """Own the socket for a request/response exchange (re-entrant for one thread is not needed)."""
        with self._callers_lock:
            self._callers += 1
            self._idle.clear()
        os.write(self._wake_w, b"x")
        self._io.acquire()
        try:
            yield
        finally:
            self._match = None
            self._matches.clear()
            self._io.release()
            with self._callers_lock:
                self._callers -= 1
                if self._callers == 0:
                    self._idle.set()

    def _reader(self) -> None:
        while not self._stop.is_set():
            if not self._idle.wait(0.2):
                continue
            with self._io:
                self._poll(0.25)

    def _poll(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for input and dispatch all of it (called with the socket owned)."""
        now = self._clock()
        if now >= self._next_hb:
            self._heartbeat(now)
        timeout_s = max(0.0, min(timeout_s, self._next_hb - now))
        fd = self.link.fileno()
        try:
            ready, _, _ = select.select([fd, self._wake_r], [], [], timeout_s)
        except (OSError, ValueError):       # closed under us
            return
        if self._wake_r in ready:
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
        if fd in ready:
            for msg in self.link.receive():
                self._dispatch(msg)

    def _heartbeat(self, now: float) -> None:
        self._next_hb = now + self._hb_period
        self.link.send(self.mav.heartbeat_encode(int(MavType.GCS), 8, 0, 0, 4))

    def _dispatch(self, msg: Any) -> None:
        if self.target_system and msg.get_srcSystem() != self.target_system:
            return
        self.last_rx = self._clock()
        try:
            self._on_message(msg)
        except Exception:   # the driver's bookkeeping must never kill the link  # noqa: BLE001
            logger.exception("error handling %s", msg.get_type())
        if self._match is not None and self._match(msg):
            self._matches.append(msg)

    def wait(self, match: Callable[[Any], bool], timeout_s: float) -> Any | None:
        """The next message satisfying ``match`` within ``timeout_s`` (call inside :meth:`exchange`)."""
        if self._match is not match:
            self._match = match
            self._matches = collections.deque(m for m in self._matches if match(m))
        deadline = self._clock() + timeout_s
        while not self._matches:
            left = deadline - self._clock()
            if left <= 0:
                return None
            self._poll(left)
        return self._matches.popleft()

    def wait_idle(self, cond: Callable[[], bool], timeout_s: float) -> bool:
        """Pump the link in the calling thread until ``cond()`` holds (state kept by ``on_message``)."""
        with self.exchange():
            deadline = self._clock() + timeout_s
            while not cond():
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._poll(min(left, 0.05))
            return True

    def send(self, msg: Any) -> None:
        self.link.send(msg)

    def _from_target(self, msg: Any) -> bool:
        return msg.get_srcComponent() == self.target_component

    def _for_me(self, msg: Any) -> bool:
        return (getattr(msg, "target_system", 0) in (0, self.mav.srcSystem)
                and getattr(msg, "target_component", 0) in (0, self.mav.srcComponent))

    # -- commands ------------------------------------------------------------------------------------
    def command(self, call: str, command: int, params: Sequence[float] = (), *, timeout_s: float = 1.0,
                retries: int = 3, accept: tuple[MavResult, ...] = (MavResult.ACCEPTED,)) -> MavResult:
        """COMMAND_LONG with retries (``confirmation`` counts them, as the protocol asks); raises
        :class:`CommandRejected` for a refusal and :class:`DriverTimeout` when no ACK comes."""
        p = list(params) + [0.0] * (7 - len(params))

        def is_ack(m: Any) -> bool:
            return (m.get_type() == "COMMAND_ACK" and m.command == command and self._from_target(m)
                    and self._for_me(m))

        with self.exchange():
            for attempt in range(retries + 1):
                self.send(self.mav.command_long_encode(self.target_system, self.target_component, command,
                                                       attempt, *p))
                while True:
                    ack = self.wait(is_ack, timeout_s)
                    if ack is None or ack.result != MavResult.IN_PROGRESS:
                        break
                if ack is not None:
                    result = _enum(MavResult, ack.result)
                    if result not in accept:
                        name = result.name if isinstance(result, MavResult) else str(result)
                        raise CommandRejected(call, name, f"MAV_CMD {command}")
                    return result  # type: ignore[return-value]
        raise DriverTimeout(call, "TIMEOUT",
                            f"no COMMAND_ACK for MAV_CMD {command} after {retries + 1} tries")

    # -- mission protocol ----------------------------------------------------------------------------
    def upload(self, call: str, items: Sequence[WireItem], mission_type: int = 0) -> int:
        """Upload ``items``; returns the number of item requests answered. Raises on refusal or silence.

        The vehicle drives the exchange (it asks for each item, and asks again for one it missed); on a
        datagram link without signing the requests are read and the items written by the fast lane."""
        ts, tc = self.target_system, self.target_component
        mav = self.mav
        answered = 0

        def is_reply(m: Any) -> bool:
            t = m.get_type()
            return (t in ("MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK") and self._for_me(m)
                    and self._from_target(m) and getattr(m, "mission_type", 0) == mission_type)

        lane = self._lane if UploadLane.usable(self.conn) else None
        with self.exchange(), (lane.blocking() if lane is not None else nullcontext()):
            self._match = is_reply
            count = mav.mission_count_encode(ts, tc, len(items), mission_type)
            if lane is not None:
                return self._upload_lane(call, lane, items, mission_type, count)
            reply = None
            for _ in range(COUNT_RETRIES + 1):
                self.send(count)
                reply = self._reply(is_reply, COUNT_RETRY_S)
                if reply is not None:
                    break
            while reply is not None:
                kind, seq = reply.kind, reply.value
                if kind == "MISSION_ACK":
                    return _upload_acked(call, seq, answered, len(items), mission_type)
                if not 0 <= seq < len(items):
                    raise CommandRejected(call, "INVALID_SEQUENCE",
                                          f"vehicle asked for item {seq} of {len(items)}")
                if kind == "MISSION_REQUEST_INT":
                    frame, cmd, current, auto, p1, p2, p3, p4, x, y, z = items[seq]
                    self.send(mav.mission_item_int_encode(ts, tc, seq, frame, cmd, current, auto, p1, p2, p3,
                                                          p4, x, y, z, mission_type))
                else:
                    self._send_legacy_item(seq, items[seq], mission_type)
                answered = max(answered, seq + 1)
                reply = self._reply(is_reply, ITEM_TIMEOUT_S)
        raise DriverTimeout(call, "TIMEOUT", f"mission upload stalled after {answered} of {len(items)} items")

    def _send_legacy_item(self, seq: int, item: WireItem, mission_type: int) -> None:
        """Answer a legacy MISSION_REQUEST: the item as MISSION_ITEM, positions in float degrees."""
        frame, cmd, current, auto, p1, p2, p3, p4, x, y, z = item
        k = 1e-7 if frame in GLOBAL_FRAMES else 1.0
        self.send(self.mav.mission_item_encode(self.target_system, self.target_component, seq, frame, cmd,
                                               current, auto, p1, p2, p3, p4, x * k, y * k, z, mission_type))

    def _upload_lane(self, call: str, lane: UploadLane, items: Sequence[WireItem], mission_type: int,
                     count: Any) -> int:
        """The upload loop of the fast lane, written for the shortest path from a request to its item:
        the item is sent first; heartbeats, deadlines and building the next item come after."""
        ts, tc = self.target_system, self.target_component
        me = (self.mav.srcSystem, self.mav.srcComponent)
        n = len(items)
        recv, read, build, send, clock = lane.recv, lane.read, lane.item, lane.send, self._clock
        answered, count_sends = 0, 1
        self.send(count)
        deadline = clock() + COUNT_RETRY_S
        next_seq, next_frame = (0, build((ts, tc), 0, items[0], mission_type)) if n else (-1, b"")
        while True:
            data = recv()                          # blocks up to the lane's poll period
            r = read(data) if data else None
            if r is not None and (r.src_system != ts or r.src_component != tc
                                  or r.mission_type != mission_type or r.target_system not in (0, me[0])
                                  or r.target_component not in (0, me[1])):
                r = None
            if r is None and data:                 # anything else: the generic path (telemetry, odd frames)
                for msg in self.link.decode(data):
                    self._dispatch(msg)
                if self._matches:
                    r = _as_reply(self._matches.popleft())
            if r is not None:
                kind, seq = r.kind, r.value
                if kind == "MISSION_REQUEST_INT" and 0 <= seq < n:
                    send(next_frame if seq == next_seq else build((ts, tc), seq, items[seq], mission_type))
                elif kind == "MISSION_ACK":
                    return _upload_acked(call, seq, answered, n, mission_type)
                elif not 0 <= seq < n:
                    raise CommandRejected(call, "INVALID_SEQUENCE", f"vehicle asked for item {seq} of {n}")
                else:
                    self._send_legacy_item(seq, items[seq], mission_type)
                answered = max(answered, seq + 1)
                if seq + 1 < n and seq + 1 != next_seq:      # build the next one while the vehicle works
                    next_seq, next_frame = seq + 1, build((ts, tc), seq + 1, items[seq + 1], mission_type)
            now = clock()
            if r is not None:
                self.last_rx, deadline = now, now + ITEM_TIMEOUT_S
            if now >= self._next_hb:
                self._heartbeat(now)
            if now >= deadline:
                if answered == 0 and count_sends <= COUNT_RETRIES:
                    self.send(count)
                    count_sends += 1
                    deadline = now + COUNT_RETRY_S
                    continue
                raise DriverTimeout(call, "TIMEOUT", f"mission upload stalled after {answered} of {n} items")

    def _reply(self, match: Callable[[Any], bool], timeout_s: float) -> Reply | None:
        """The next request or ACK of an upload on the generic path."""
        msg = self.wait(match, timeout_s)
        return None if msg is None else _as_reply(msg)

    def download(self, call: str, mission_type: int = 0) -> list[Any]:
        """The vehicle's items of ``mission_type`` (MISSION_ITEM_INT messages, in seq order)."""
        ts, tc = self.target_system, self.target_component
        mav = self.mav

        def is_count(m: Any) -> bool:
            return m.get_type() == "MISSION_COUNT" and self._for_me(m) and self._from_target(m)

        with self.exchange():
            count = None
            for _ in range(COUNT_RETRIES + 1):
                self.send(mav.mission_request_list_encode(ts, tc, mission_type))
                count = self.wait(is_count, COUNT_RETRY_S)
                if count is not None:
                    break
            if count is None:
                raise DriverTimeout(call, "TIMEOUT", "no MISSION_COUNT for the read-back")
            items: list[Any] = []
            for seq in range(count.count):
                def is_item(m: Any, s: int = seq) -> bool:
                    return (m.get_type() == "MISSION_ITEM_INT" and m.seq == s and self._for_me(m)
                            and self._from_target(m))
                item = None
                for _ in range(COUNT_RETRIES + 1):
                    self.send(mav.mission_request_int_encode(ts, tc, seq, mission_type))
                    item = self.wait(is_item, COUNT_RETRY_S)
                    if item is not None:
                        break
                if item is None:
                    raise DriverTimeout(call, "TIMEOUT", f"read-back stalled at item {seq} of {count.count}")
                items.append(item)
            self.send(mav.mission_ack_encode(ts, tc, int(MavMissionResult.ACCEPTED), mission_type))
            return items

    # -- life ----------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        self._thread.join(2.0)
        self.link.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def check_alive(self, call: str, timeout_s: float) -> None:
        if self._clock() - self.last_rx > timeout_s:
            raise ConnectionLost(call, "NO_HEARTBEAT", f"nothing from system {self.target_system} for "
                                                       f"{timeout_s:g} s")


def _as_reply(msg: Any) -> Reply:
    kind = msg.get_type()
    value = msg.type if kind == "MISSION_ACK" else msg.seq
    return Reply(kind, value, getattr(msg, "mission_type", 0), msg.target_system, msg.target_component,
                 msg.get_srcSystem(), msg.get_srcComponent())


def _enum(cls: Any, value: int) -> Any:
    try:
        return cls(value)
    except ValueError:
        return value


def _upload_acked(call: str, value: int, answered: int, n: int, mission_type: int) -> int:
    """The vehicle's MISSION_ACK ends an upload of ``n`` items: their count when it accepted them all after
    asking for each, else the rejection it gave."""
    result = _enum(MavMissionResult, value)
    if result is MavMissionResult.ACCEPTED and answered >= n:
        return answered
    name = result.name if isinstance(result, MavMissionResult) else str(result)
    raise CommandRejected(call, name, f"{n} items, mission type {mission_type}")
