"""A fast lane for mission uploads over UDP: the three messages of the exchange framed by hand.

A mission upload is one round trip per item, and the vehicle waits for every item, so the client's
processing time per item is on the critical path. pymavlink spends ~25 us decoding a request and packing
an item through its generic message objects; reading the request's few bytes and writing the item with
:mod:`struct` and ``fastcrc`` directly takes ~4 us. The lane handles only what it can check completely:
unsigned MAVLink 2 frames of ``MISSION_REQUEST_INT``, ``MISSION_REQUEST`` and ``MISSION_ACK`` with a valid
checksum, on a datagram link; everything else (telemetry, signed traffic, stream links) takes the normal
pymavlink path. Layouts, ids and CRC extras come from pymavlink's generated classes, never from literals.

On a fast link (the vehicle's replies come within ``SPIN_LINK_S``: the simulator, a companion computer on
Ethernet) the lane waits for the next request in a polite spin (``sched_yield`` between tries) instead of
sleeping in ``poll``: waking a sleeping thread costs tens of microseconds per item on a loaded or virtual
machine, as much as the vehicle's own work. On a radio link it waits in ``poll`` as before.
"""
from __future__ import annotations

import os
import select
import struct
import time
from contextlib import contextmanager
from typing import Any, Iterator, NamedTuple

from agrifleet.sim._mav_proto import load_mavutil

__all__ = ["Reply", "UploadLane"]

MAGIC_V2 = 0xFD
HEADER = struct.Struct("<BBBBBBBHB")     # magic, len, incompat, compat, seq, sysid, compid, msgid (24 bit)
HEADER_LEN = HEADER.size
CRC = struct.Struct("<H")
POLL_S = 0.05                            # longest block in recv: heartbeats and deadlines are checked between
SPIN_MAX_S = 0.0005                      # longest wait in a polite spin after an item (fast links only)
SPIN_LINK_S = 0.002                      # spin only while the vehicle answers faster than this


class Reply(NamedTuple):
    """A decoded reply: message name, seq (requests) or result (ACK), mission type, target ids, source."""

    kind: str
    value: int
    mission_type: int
    target_system: int
    target_component: int
    src_system: int
    src_component: int


class UploadLane:
    """Hand framing of the upload exchange for one pymavlink UDP connection (see the module docstring)."""

    def __init__(self, conn: Any) -> None:
        mavlink = load_mavutil().mavlink
        self.conn = conn
        self.mav = conn.mav
        from fastcrc.crc16 import mcrf4xx
        self._crc = mcrf4xx
        self._readers: dict[int, tuple[str, Any, bytes, int, tuple[int, int, int, int, int]]] = {}
        for cls in (mavlink.MAVLink_mission_request_int_message, mavlink.MAVLink_mission_request_message,
                    mavlink.MAVLink_mission_ack_message):
            order = list(cls.ordered_fieldnames)
            first = "type" if cls.msgname == "MISSION_ACK" else "seq"
            names = (first, "mission_type", "target_system", "target_component")
            where = tuple(order.index(n) for n in names)
            self._readers[cls.id] = (cls.msgname, cls.unpacker, bytes((cls.crc_extra,)), cls.unpacker.size,
                                     where + (0,))
        item = mavlink.MAVLink_mission_item_int_message
        self._item_id, self._item_extra, self._item_struct = item.id, bytes((item.crc_extra,)), item.unpacker
        given = ("param1", "param2", "param3", "param4", "x", "y", "z", "seq", "command", "target_system",
                 "target_component", "frame", "current", "autocontinue", "mission_type")
        self._item_pick = tuple(given.index(n) for n in item.ordered_fieldnames)
        self._poller: Any = None
        self._poll_ms = int(POLL_S * 1000)
        self._sent_at = 0.0                 # when the last frame went out (perf_counter)
        self._spin_until = 0.0              # recv may spin until then
        self._reply_s = SPIN_LINK_S         # the vehicle's recent reply time (moving average)

    @contextmanager
    def blocking(self, poll_s: float = POLL_S) -> Iterator[None]:
        """Let :meth:`recv` wait (up to ``poll_s``) in the kernel's ``poll`` on the non-blocking socket
        pymavlink leaves, rather than in a Python ``select`` loop."""
        self._poller = select.poll()
        self._poller.register(self.conn.port, select.POLLIN)
        self._poll_ms = max(1, int(poll_s * 1000))
        self._reply_s = SPIN_LINK_S
        try:
            yield
        finally:
            self._poller = None

    def recv(self) -> bytes:
        """One datagram, or b"" (none within the poll period, or an error such as an ICMP port-unreachable
        report). A client socket is read directly; a listening one through pymavlink, which keeps its
        list of peers.

        Right after a frame went out on a fast link (the vehicle's recent replies came within
        ``SPIN_LINK_S``), the socket is tried again in a polite spin (``sched_yield`` between tries, so a
        process that needs the CPU gets it) for up to twice the recent reply time: the reply then finds
        this thread running instead of having to wake it, a cost the vehicle's reply time pays once per
        item. On a slow link (a radio) it waits in ``poll`` at once."""
        conn = self.conn
        if conn.udp_server:
            if not self._ready():
                return b""
            try:
                return conn.recv()
            except OSError:
                return b""
        sock = conn.port
        clock = time.perf_counter
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            data = b""
            until, self._spin_until = self._spin_until, 0.0
            while clock() < until:
                os.sched_yield()
                try:
                    data = sock.recv(65536)
                    break
                except BlockingIOError:
                    continue
                except OSError:
                    return b""
            if not data:
                if not self._ready():
                    return b""
                try:
                    data = sock.recv(65536)
                except OSError:
                    return b""
        except OSError:
            return b""
        if self._sent_at:
            self._reply_s += 0.2 * ((clock() - self._sent_at) - self._reply_s)
            self._sent_at = 0.0
        return data

    @property
    def spin_s(self) -> float:
        """How long the next :meth:`recv` may spin (armed by the last :meth:`send`; 0 on a slow link)."""
        return max(0.0, self._spin_until - self._sent_at) if self._sent_at else 0.0

    def _ready(self) -> bool:
        return bool(self._poller.poll(self._poll_ms)) if self._poller is not None else True

    def send(self, frame: bytes) -> None:
        conn = self.conn
        if conn.udp_server or conn.broadcast or conn.resolved_destination_addr is None:
            conn.write(frame)               # pymavlink resolves the address and fans out to peers
        else:
            try:
                conn.port.sendto(frame, conn.destination_addr)
            except OSError:
                pass
        now = time.perf_counter()
        self._sent_at = now
        self._spin_until = now + min(2.0 * self._reply_s, SPIN_MAX_S) if self._reply_s < SPIN_LINK_S else 0.0

    @staticmethod
    def usable(conn: Any) -> bool:
        """Datagram links without signing (a signed frame must be checked and made by pymavlink)."""
        return type(conn).__name__ == "mavudp" and conn.mav.signing.secret_key is None

    def read(self, data: bytes) -> Reply | None:
        """The reply in one datagram, or None when it is anything else (left to pymavlink)."""
        if len(data) < HEADER_LEN + 2 or data[0] != MAGIC_V2 or data[2] != 0:
            return None
        plen = data[1]
        if len(data) != HEADER_LEN + plen + 2:
            return None                  # several frames, or a truncated one: the generic path copes
        msgid = data[7] | data[8] << 8 | data[9] << 16
        reader = self._readers.get(msgid)
        if reader is None:
            return None
        name, unpacker, extra, size, where = reader
        body_end = HEADER_LEN + plen
        if self._crc(data[1:body_end] + extra, 0xFFFF) != data[body_end] | data[body_end + 1] << 8:
            return None
        payload = data[HEADER_LEN:body_end]
        if plen < size:                  # MAVLink 2 drops trailing zero bytes; put them back
            payload = payload + bytes(size - plen)
        values = unpacker.unpack(payload[:size])
        return Reply(name, values[where[0]], values[where[1]], values[where[2]], values[where[3]],
                     data[5], data[6])

    def item(self, target: tuple[int, int], seq: int, fields: tuple, mission_type: int) -> bytes:
        """A MISSION_ITEM_INT frame from ``(frame, command, current, autocontinue, p1..p4, x, y, z)``."""
        frame, command, current, autocontinue, p1, p2, p3, p4, x, y, z = fields
        given = (p1, p2, p3, p4, x, y, z, seq, command, target[0], target[1], frame, current, autocontinue,
                 mission_type)
        payload = self._item_struct.pack(*[given[k] for k in self._item_pick])
        plen = len(payload)
        while plen > 1 and payload[plen - 1] == 0:
            plen -= 1
        mav = self.mav
        msgid = self._item_id
        body = HEADER.pack(MAGIC_V2, plen, 0, 0, mav.seq, mav.srcSystem, mav.srcComponent, msgid & 0xFFFF,
                           msgid >> 16) + payload[:plen]
        mav.seq = (mav.seq + 1) % 256
        return body + CRC.pack(self._crc(body[1:] + self._item_extra, 0xFFFF))
