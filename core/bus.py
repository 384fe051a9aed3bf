"""ZeroMQ transport of the fleet link, in the style of the ZeroMQ guide's Paranoid Pirate.

The dispatcher's :class:`ServerBus` binds a ROUTER (agents' and operators' DEALERs connect) and a PUB for
fleet state and events. The agent's :class:`ClientBus` is a DEALER that registers with a HELLO, sends
heartbeats, counts the dispatcher's liveness on the monotonic clock, and when the dispatcher falls silent
throws the socket away and reconnects with exponential backoff.

Reliability lives in :class:`Link`, one per agent: every reliable message gets a sequence number (``id``)
and stays in the outbox until the peer acknowledges it (``ref``); un-acknowledged messages are resent on a
timer and after a reconnect. A receiver remembers the ids it has served and answers a duplicate with the
acknowledgement it already sent, without serving it twice. A new ``session`` in HELLO/WELCOME says the
other end restarted, which resets the duplicate window.

Malformed frames are counted and dropped; nothing a peer sends can stop the loop. When keys are configured
both sockets are CURVE servers and a ZAP handler admits only allow-listed keys (:mod:`.keys`).
"""
from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import zmq

from .errors import ConfigError, ConnectionLost, ProtocolError
from .keys import ZAP_DOMAIN, ClientKeys, KeyRing, Principal, ServerKeys, start_authenticator
from .messages import (
    ACK_KINDS,
    Ack,
    Error,
    Heartbeat,
    Hello,
    Message,
    Reply,
    Request,
    Welcome,
    decode,
    encode,
)

__all__ = [
    "BusConfig",
    "ClientBus",
    "Counters",
    "Inbound",
    "Link",
    "LogThrottle",
    "ServerBus",
    "Subscriber",
    "request",
]

logger = logging.getLogger(__name__)


class LogThrottle:
    """At most one warning per ``every_s`` for a peer's repeated mistakes (a hostile or broken peer must not
    turn the log into the bottleneck); the others are counted and reported with the next one."""

    def __init__(self, log: logging.Logger, every_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.log, self.every_s, self.clock = log, every_s, clock
        self._next = -math.inf
        self._suppressed = 0

    def warning(self, fmt: str, *args: Any) -> None:
        now = self.clock()
        if now < self._next:
            self._suppressed += 1
            self.log.debug(fmt, *args)
            return
        self._next = now + self.every_s
        if self._suppressed:
            fmt += f" (and {self._suppressed} similar since the last report)"
            self._suppressed = 0
        self.log.warning(fmt, *args)

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class BusConfig:
    """Timing of the link. Heartbeats go out every ``heartbeat_s``; a peer silent for ``liveness``
    heartbeats is dead; an unacknowledged message is resent after ``resend_s``."""

    heartbeat_s: float = 1.0
    liveness: int = 3
    resend_s: float = 1.0
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 8.0
    dedup_window: int = 4096
    sndhwm: int = 10000

    def __post_init__(self) -> None:
        for name in ("heartbeat_s", "resend_s", "reconnect_min_s", "reconnect_max_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"bus config: {name} = {getattr(self, name)!r} must be > 0")
        if self.liveness < 1 or self.dedup_window < 16:
            raise ConfigError("bus config: liveness must be >= 1 and dedup_window >= 16")

    @property
    def dead_after_s(self) -> float:
        return self.heartbeat_s * self.liveness


@dataclass(slots=True)
class Counters:
    frames_in: int = 0
    frames_out: int = 0
    bad_frames: int = 0
    duplicates: int = 0
    resends: int = 0
    dropped_out: int = 0
    unauthorised: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class _Pending:
    frame: bytes
    sent_at: float
    key: Hashable | None
    tries: int = 1


class Link:
    """Reliability state of one peer: sequence numbers, the un-acked outbox, duplicates, liveness."""

    def __init__(self, config: BusConfig, now: float, session: str = "") -> None:
        self.config = config
        self.session = session           # the peer's session
        self.next_id = 1
        self.outbox: OrderedDict[int, _Pending] = OrderedDict()
        self._by_key: dict[Hashable, int] = {}
        self._seen: OrderedDict[int, bytes | None] = OrderedDict()
        self.last_rx = now
        self.last_tx = now

    def take_id(self) -> int:
        msg_id, self.next_id = self.next_id, self.next_id + 1
        return msg_id

    def stamp(self, msg: Message, now: float, reliable: bool,
              key: Hashable | None = None) -> tuple[int, bytes]:
        """Encode ``msg``; a reliable one gets the next id and waits in the outbox for its ack.

        ``key`` makes a message supersede the pending one with the same key (progress: only the latest
        index matters, so an old un-acked one is never resent after a newer one)."""
        if not reliable:
            return 0, encode(msg)
        msg_id = self.take_id()
        frame = encode(msg.with_id(msg_id))
        if key is not None:
            old = self._by_key.pop(key, None)
            if old is not None:
                self.outbox.pop(old, None)
            self._by_key[key] = msg_id
        self.outbox[msg_id] = _Pending(frame, now, key)
        return msg_id, frame

    def acknowledge(self, ref: int) -> bool:
        pending = self.outbox.pop(ref, None)
        if pending is not None and pending.key is not None and self._by_key.get(pending.key) == ref:
            del self._by_key[pending.key]
        return pending is not None

    def is_duplicate(self, msg: Message) -> bool:
        """True when a reliable message was served already (its cached ack, if any, is in ``cached_ack``)."""
        if msg.id == 0:
            return False
        if msg.id in self._seen:
            return True
        self._seen[msg.id] = None
        if len(self._seen) > self.config.dedup_window:
            self._seen.popitem(last=False)
        return False

    def cached_ack(self, msg_id: int) -> bytes | None:
        return self._seen.get(msg_id)

    def remember_ack(self, ref: int, frame: bytes) -> None:
        if ref in self._seen:
            self._seen[ref] = frame

    def due(self, now: float) -> Iterator[bytes]:
        """Frames to resend now (oldest first)."""
        for pending in self.outbox.values():
            if now - pending.sent_at >= self.config.resend_s:
                pending.sent_at = now
                pending.tries += 1
                yield pending.frame

    def all_pending(self, now: float) -> list[bytes]:
        for pending in self.outbox.values():
            pending.sent_at = now
        return [p.frame for p in self.outbox.values()]

    def new_peer_session(self, session: str) -> None:
        """The peer restarted: its ids start again and what we owed the old process is void."""
        self.session = session
        self._seen.clear()

    def drop_outbox(self) -> None:
        self.outbox.clear()
        self._by_key.clear()

    def alive(self, now: float) -> bool:
        return now - self.last_rx <= self.config.dead_after_s


class Inbound(NamedTuple):
    """A message delivered to the dispatcher: from a registered vehicle (``vehicle``) or anyone (``rid``).
    (A named tuple: one is made per message on the dispatcher's hottest path.)"""

    rid: bytes
    msg: Message
    vehicle: str | None = None
    principal: Principal | None = None
    new_session: bool = False


def _tcp_endpoint(socket: zmq.Socket, url: str) -> str:
    if url.startswith("tcp://") and url.endswith(":0"):
        socket.bind(url[:-2] + ":*")
    else:
        socket.bind(url)
    return socket.getsockopt_string(zmq.LAST_ENDPOINT)


class ServerBus:
    """The dispatcher's sockets: ROUTER for agents and operators, PUB for fleet state."""

    def __init__(self, bind: str = "tcp://127.0.0.1:5755", pub_bind: str | None = "tcp://127.0.0.1:5756",
                 keys: ServerKeys | None = None, config: BusConfig = BusConfig(),
                 clock: Clock = time.monotonic, context: zmq.Context[Any] | None = None) -> None:
        self.config, self.clock, self.keys = config, clock, keys
        self.counters = Counters()
        self._log = LogThrottle(logger, clock=clock)
        self.links: dict[str, Link] = {}           # vehicle id -> link
        self.routes: dict[str, bytes] = {}         # vehicle id -> routing id of its current connection
        self._vehicle_of: dict[bytes, str] = {}    # routing id -> vehicle id
        self._bind, self._pub_bind = bind, pub_bind
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.ring: KeyRing | None = KeyRing(keys.directory) if keys else None
        self._auth = None
        self.router: zmq.Socket | None = None
        self.pub: zmq.Socket | None = None
        self.endpoint = ""
        self.pub_endpoint = ""
        self._read_at = -math.inf                 # when the ROUTER was last read (see tick)
        self._told: dict[bytes, float] = {}        # routing id -> when it was last told to say hello

    # --- life ------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.ring is not None:
            self._auth = start_authenticator(self.context, self.ring)
        self.router = self._socket(zmq.ROUTER)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.endpoint = _tcp_endpoint(self.router, self._bind)
        self._read_at = self.clock()
        if self._pub_bind:
            self.pub = self._socket(zmq.PUB)
            self.pub_endpoint = _tcp_endpoint(self.pub, self._pub_bind)
        logger.info("dispatcher bus on %s (state on %s)%s", self.endpoint, self.pub_endpoint or "-",
                    " with CURVE" if self.keys else "")

    def _socket(self, kind: int) -> zmq.Socket:
        sock = self.context.socket(kind)
        sock.linger = 0
        sock.sndhwm = self.config.sndhwm
        sock.rcvhwm = self.config.sndhwm
        if self.keys is not None:
            sock.curve_server = True
            sock.curve_secretkey = self.keys.secret
            sock.curve_publickey = self.keys.public
            sock.zap_domain = ZAP_DOMAIN.encode()
        return sock

    def close(self) -> None:
        for sock in (self.router, self.pub):
            if sock is not None:
                sock.close(linger=0)
        self.router = self.pub = None
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._own_context:
            self.context.term()

    # --- receive -----------------------------------------------------------------------------------------
    def poll(self, timeout_s: float, max_messages: int = 1000) -> list[Inbound]:
        """Wait up to ``timeout_s`` for traffic and return the messages the application must serve."""
        return list(self.receive(timeout_s, max_messages))

    def receive(self, timeout_s: float, max_messages: int = 1000) -> Iterator[Inbound]:
        """:meth:`poll` that hands over each message as soon as it is read, so the caller serves (answers)
        it before the socket is asked for more; finding the socket empty costs pyzmq an exception."""
        assert self.router is not None, "start() the bus first"
        ready = self.router.poll(max(0, int(timeout_s * 1000)))
        now = self._read_at = self.clock()
        if ready:
            if isinstance(self.router, zmq.Socket):
                yield from self._read_frames(now, max_messages)
            else:
                yield from self._read_parts(now, max_messages)

    def _read_frames(self, now: float, max_messages: int) -> Iterator[Inbound]:
        """Read a ZeroMQ ROUTER frame by frame. pyzmq's ``recv_multipart`` asks the socket for RCVMORE after
        every frame (a slow option call); the payload frame's own ``more`` flag says the same for less."""
        recv, counters, ring = self.router.recv, self.counters, self.ring  # type: ignore[union-attr]
        for _ in range(max_messages):
            try:
                rid = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            frame = recv(zmq.NOBLOCK, copy=False)  # a routing id always has its message after it
            counters.frames_in += 1
            if frame.more:                           # an agent's message is one frame; drop longer ones whole
                while frame.more:
                    frame = recv(zmq.NOBLOCK, copy=False)
                counters.bad_frames += 1
                continue
            principal = None
            if ring is not None:
                user = frame.get("User-Id")
                principal = ring.lookup(user) if user else None
            inbound = self._accept(rid, frame.bytes, principal, now)
            if inbound is not None:
                yield inbound

    def _read_parts(self, now: float, max_messages: int) -> Iterator[Inbound]:
        """Read a socket that offers only ``recv_multipart`` (the trial runner's in-process loopback)."""
        recv = self.router.recv_multipart  # type: ignore[union-attr]
        for _ in range(max_messages):
            try:
                parts = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            self.counters.frames_in += 1
            if len(parts) != 2:
                self.counters.bad_frames += 1
                continue
            inbound = self._accept(parts[0], parts[1], None, now)
            if inbound is not None:
                yield inbound

    def _accept(self, rid: bytes, frame: bytes, principal: Principal | None, now: float) -> Inbound | None:
        """Decode one frame; ``now`` is the batch's receive time."""
        try:
            msg = decode(frame)
        except ProtocolError as exc:
            self.counters.bad_frames += 1
            logger.debug("dropped a bad frame from %s: %s", rid.hex(), exc)
            return None
        if isinstance(msg, Hello):
            return self._hello(rid, msg, principal, now)
        vehicle = self._vehicle_of.get(rid)
        if vehicle is None:
            if isinstance(msg, Request):
                return Inbound(rid, msg, None, principal)
            if not isinstance(msg, (Heartbeat, Error)) and self._may_tell(rid, now):
                self._send_raw(rid, encode(Error(ref=msg.id, code="not_registered",
                                                 text="send hello first")))
            return None
        link = self.links[vehicle]
        link.last_rx = now
        if msg.KIND in ACK_KINDS and not link.acknowledge(msg.ref):  # type: ignore[attr-defined]
            self.counters.duplicates += 1   # a second ack of something already acknowledged
            return None
        if link.is_duplicate(msg):
            self.counters.duplicates += 1
            cached = link.cached_ack(msg.id)
            if cached is not None:
                self._send_raw(rid, cached)
            return None
        if isinstance(msg, Heartbeat):
            return None
        return Inbound(rid, msg, vehicle, principal)

    def _may_tell(self, rid: bytes, now: float) -> bool:
        """Whether to answer an unregistered peer now: once per resend period, not once per frame (a vehicle
        declared lost while it streams telemetry would otherwise get a flood of errors back)."""
        last = self._told.get(rid)
        if last is not None and now - last < self.config.resend_s:
            return False
        if len(self._told) >= 4096:
            self._told.clear()
        self._told[rid] = now
        return True

    def _hello(self, rid: bytes, msg: Hello, principal: Principal | None, now: float) -> Inbound | None:
        if self.ring is not None and (principal is None or principal.role.value != "vehicle"
                                      or principal.name != msg.vehicle):
            self.counters.unauthorised += 1
            who = principal.name if principal else "an unknown key"
            self._log.warning("hello for vehicle %r from %s refused", msg.vehicle, who)
            self._send_raw(rid, encode(Error(ref=msg.id, code="unauthorised",
                                             text=f"this key may not register vehicle {msg.vehicle!r}")))
            return None
        link = self.links.get(msg.vehicle)
        new_session = link is None or link.session != msg.session
        if link is None:
            link = self.links[msg.vehicle] = Link(self.config, now, msg.session)
        elif new_session:
            link.new_peer_session(msg.session)
            link.drop_outbox()
        old = self.routes.get(msg.vehicle)
        if old is not None and old != rid:
            self._vehicle_of.pop(old, None)
        self.routes[msg.vehicle] = rid
        self._vehicle_of[rid] = msg.vehicle
        link.last_rx = now
        # every hello is served (registering is idempotent); hellos never enter the duplicate window
        return Inbound(rid, msg, msg.vehicle, principal, new_session)

    # --- send --------------------------------------------------------------------------------------------
    def _send_raw(self, rid: bytes, frame: bytes) -> bool:
        try:
            self.router.send_multipart([rid, frame], zmq.NOBLOCK)  # type: ignore[union-attr]
        except (zmq.Again, zmq.ZMQError):
            self.counters.dropped_out += 1
            return False
        self.counters.frames_out += 1
        return True

    def send(self, vehicle: str, msg: Message, reliable: bool = False, key: Hashable | None = None) -> int:
        """Send to a registered vehicle; returns the message id (0 when unreliable). A reliable message
        waits in the link's outbox until acknowledged, also while the vehicle is away."""
        link = self.links.get(vehicle)
        if link is None:
            raise ConnectionLost(f"send({msg.KIND.name.lower()})", detail=f"vehicle {vehicle!r} never registered")
        now = self.clock()
        msg_id, frame = link.stamp(msg, now, reliable, key)
        ref = getattr(msg, "ref", None)
        if msg.KIND in ACK_KINDS and ref:
            link.remember_ack(ref, frame)
        rid = self.routes.get(vehicle)
        if rid is not None and link.alive(self._read_at):
            if self._send_raw(rid, frame):
                link.last_tx = now
        return msg_id

    def reply(self, rid: bytes, msg: Message) -> None:
        """Answer an unregistered peer (an operator's request)."""
        self._send_raw(rid, encode(msg))

    def ack(self, inbound: Inbound) -> None:
        """Plain acknowledgement of a reliable message (progress, event)."""
        if inbound.vehicle is not None and inbound.msg.id:
            self.send(inbound.vehicle, Ack(ref=inbound.msg.id))

    def publish(self, topic: str, msg: Message) -> None:
        if self.pub is None:
            return
        try:
            self.pub.send_multipart([topic.encode(), encode(msg)], zmq.NOBLOCK)
        except zmq.Again:
            self.counters.dropped_out += 1

    def forget(self, vehicle: str) -> None:
        """Drop what is owed to ``vehicle`` (its work went elsewhere)."""
        link = self.links.get(vehicle)
        if link is not None:
            link.drop_outbox()

    # --- timers ------------------------------------------------------------------------------------------
    def tick(self) -> list[str]:
        """Heartbeats and resends; returns the vehicles that just fell silent.

        While frames wait unread in the socket (the dispatcher was busy serving a long batch: a flood of
        telemetry, a job being planned), silence is judged at the time the socket was last read, not now:
        the heartbeats waiting behind that work must not make their senders look lost."""
        now = self.clock()
        lost: list[str] = []
        heard_until: float | None = None
        for vehicle, link in self.links.items():
            rid = self.routes.get(vehicle)
            if rid is None:
                continue
            if not link.alive(now):
                if heard_until is None:      # frames waiting unread: judge silence when last read
                    heard_until = self._read_at if self.router is not None and self.router.poll(0) else now
                if not link.alive(heard_until):
                    lost.append(vehicle)
                    self._vehicle_of.pop(rid, None)
                    del self.routes[vehicle]
                    continue
            for frame in link.due(now):
                self.counters.resends += 1
                self._send_raw(rid, frame)
            if now - link.last_tx >= self.config.heartbeat_s:
                if self._send_raw(rid, encode(Heartbeat())):
                    link.last_tx = now
        return lost

    def connected(self, vehicle: str) -> bool:
        link = self.links.get(vehicle)
        return vehicle in self.routes and link is not None and link.alive(self._read_at)


class ClientBus:
    """An agent's DEALER: registers with HELLO, heartbeats, resends, reconnects with backoff."""

    def __init__(self, server: str, hello: Callable[[], Hello], keys: ClientKeys | None = None,
                 config: BusConfig = BusConfig(), clock: Clock = time.monotonic,
                 context: zmq.Context[Any] | None = None) -> None:
        self.server, self.hello, self.keys, self.config, self.clock = server, hello, keys, config, clock
        self.counters = Counters()
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket: zmq.Socket | None = None
        self.link = Link(config, clock())
        self.registered = False
        self.server_session = ""
        self.heartbeat_s = config.heartbeat_s
        self._backoff = config.reconnect_min_s
        self._reconnect_at: float | None = None
        self._hello_at = -1e18
        self._hello_id = 0
        self._read_at = -math.inf                 # when the socket was last read (see tick)

    def start(self) -> None:
        self._open()

    def _open(self) -> None:
        sock = self.context.socket(zmq.DEALER)
        sock.linger = 0
        sock.sndhwm = self.config.sndhwm
        sock.immediate = True
        if self.keys is not None:
            self.keys.apply(sock)
        sock.connect(self.server)
        self.socket = sock
        now = self.clock()
        self.link.last_rx = now
        self.registered = False
        self._hello_at = -1e18

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None
        if self._own_context:
            self.context.term()

    def _send_frame(self, frame: bytes) -> bool:
        if self.socket is None:
            return False
        try:
            self.socket.send(frame, zmq.NOBLOCK)
        except (zmq.Again, zmq.ZMQError):
            self.counters.dropped_out += 1
            return False
        self.counters.frames_out += 1
        self.link.last_tx = self.clock()
        return True

    def send(self, msg: Message, reliable: bool = False, key: Hashable | None = None) -> int:
        """Send now if registered; a reliable message is (re)sent until acknowledged, across reconnects."""
        if not reliable and msg.KIND not in ACK_KINDS:       # telemetry, heartbeats: the hot path
            if self.registered:
                self._send_frame(encode(msg))
            return 0
        msg_id, frame = self.link.stamp(msg, self.clock(), reliable, key)
        ref = getattr(msg, "ref", None)
        if msg.KIND in ACK_KINDS and ref:
            self.link.remember_ack(ref, frame)
        if self.registered:
            self._send_frame(frame)
        return msg_id

    def ack(self, msg: Message) -> None:
        if msg.id:
            self.send(Ack(ref=msg.id))

    def _send_hello(self, now: float) -> None:
        self._hello_id = self.link.take_id()
        hello = self.hello().with_id(self._hello_id)
        self._hello_at = now
        self._send_frame(encode(hello))

    def poll(self, timeout_s: float, max_messages: int = 1000) -> list[Message]:
        """Wait up to ``timeout_s``; returns the messages the agent must serve (acks handled here)."""
        return list(self.receive(timeout_s, max_messages))

    def receive(self, timeout_s: float, max_messages: int = 1000) -> Iterator[Message]:
        """:meth:`poll` that hands over each message as soon as it is read (see :meth:`ServerBus.receive`)."""
        if self.socket is None:
            return
        ready = self.socket.poll(max(0, int(timeout_s * 1000)))
        self._read_at = self.clock()
        if not ready:
            return
        recv = self.socket.recv
        for _ in range(max_messages):
            try:
                frame = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            self.counters.frames_in += 1
            try:
                msg = decode(frame)
            except ProtocolError as exc:
                self.counters.bad_frames += 1
                logger.debug("dropped a bad frame from the dispatcher: %s", exc)
                continue
            now = self.clock()
            self.link.last_rx = now
            self._backoff = self.config.reconnect_min_s
            if isinstance(msg, Welcome):
                if msg.ref == self._hello_id:
                    self._welcomed(msg, now)
                continue
            if isinstance(msg, Error) and msg.code == "not_registered":
                self.registered = False
                self._hello_at = -1e18
                continue
            if msg.KIND in ACK_KINDS:
                self.link.acknowledge(msg.ref)  # type: ignore[attr-defined]
            if self.link.is_duplicate(msg):
                self.counters.duplicates += 1
                cached = self.link.cached_ack(msg.id)
                if cached is not None:
                    self._send_frame(cached)
                continue
            if isinstance(msg, (Heartbeat, Ack)):
                continue
            yield msg

    def _welcomed(self, msg: Welcome, now: float) -> None:
        if msg.session != self.server_session:
            if self.server_session:
                logger.info("dispatcher restarted (session %s -> %s)", self.server_session, msg.session)
            self.server_session = msg.session
            self.link.new_peer_session(msg.session)
        self.heartbeat_s = msg.heartbeat_s
        was = self.registered
        self.registered = True
        if not was:
            for frame in self.link.all_pending(now):
                self.counters.resends += 1
                self._send_frame(frame)

    def tick(self) -> bool:
        """Heartbeats, resends, hello until welcomed, and reconnect when the dispatcher falls silent.
        Returns True while connected and registered."""
        now = self.clock()
        if self._reconnect_at is not None:
            if now < self._reconnect_at:
                return False
            self._reconnect_at = None
            self._open()
        silent_s = now - self.link.last_rx
        if silent_s > self.heartbeat_s * self.config.liveness and self.socket is not None and self.socket.poll(0):
            # frames wait unread: the agent was busy (a long upload to the vehicle), the dispatcher was not
            # silent; judge at the time the socket was last read
            silent_s = self._read_at - self.link.last_rx
        if silent_s > self.heartbeat_s * self.config.liveness:
            logger.warning("dispatcher silent for %.1f s; reconnecting in %.2f s", silent_s, self._backoff)
            self.counters.reconnects += 1
            if self.socket is not None:
                self.socket.close(linger=0)
                self.socket = None
            self.registered = False
            self._reconnect_at = now + self._backoff
            self._backoff = min(self._backoff * 2, self.config.reconnect_max_s)
            return False
        if not self.registered:
            if now - self._hello_at >= self.config.resend_s:
                self._send_hello(now)
            return False
        for frame in self.link.due(now):
            self.counters.resends += 1
            self._send_frame(frame)
        if now - self.link.last_tx >= self.heartbeat_s:
            self._send_frame(encode(Heartbeat()))
        return True


# --- operator clients ------------------------------------------------------------------------------------

def request(server: str, op: str, args: dict[str, Any] | None = None, keys: ClientKeys | None = None,
            timeout_s: float = 10.0, context: zmq.Context[Any] | None = None) -> Any:
    """Send one operator request to the dispatcher and return its result; raises on refusal or silence."""
    ctx = context or zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    if keys is not None:
        keys.apply(sock)
    try:
        sock.connect(server)
        sock.send(encode(Request(op=op, args=args or {}, id=1)))
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if not sock.poll(int(left * 1000) + 1):
                break
            try:
                msg = decode(sock.recv())
            except ProtocolError:
                continue
            if isinstance(msg, Reply) and msg.ref == 1:
                if not msg.ok:
                    raise ConfigError(msg.error)
                return msg.result
            if isinstance(msg, Error):
                raise ConnectionLost(f"request({op})", msg.code, msg.text)
    finally:
        sock.close(linger=0)
    raise ConnectionLost(f"request({op})", detail=f"no answer from the dispatcher at {server} "
                                                  f"within {timeout_s:g} s (is 'agrifleet serve' running?)")


class Subscriber:
    """Fleet state and events from the dispatcher's PUB socket (``agrifleet watch``)."""

    def __init__(self, url: str, topics: tuple[str, ...] = ("",), keys: ClientKeys | None = None,
                 context: zmq.Context[Any] | None = None) -> None:
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.SUB)
        self.socket.linger = 0
        if keys is not None:
            keys.apply(self.socket)
        for topic in topics:
            self.socket.subscribe(topic.encode())
        self.socket.connect(url)
        self.bad_frames = 0

    def receive(self, timeout_s: float) -> tuple[str, Message] | None:
        if not self.socket.poll(max(0, int(timeout_s * 1000))):
            return None
        parts = self.socket.recv_multipart()
        if len(parts) != 2:
            self.bad_frames += 1
            return None
        try:
            return parts[0].decode("utf-8", "replace"), decode(parts[1])
        except ProtocolError:
            self.bad_frames += 1
            return None

    def close(self) -> None:
        self.socket.close(linger=0)
