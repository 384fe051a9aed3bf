"""An in-process stand-in for the ZeroMQ sockets of the fleet link, for deterministic trials.

The scenario runner keeps the real transport logic (:class:`~agrifleet.core.bus.ServerBus` and
:class:`~agrifleet.core.bus.ClientBus`: HELLO/WELCOME, heartbeats, liveness, resends, reconnect with backoff)
and the real agents and fleet manager, and replaces only what cannot be deterministic: sockets whose
delivery depends on I/O threads and the operating system. :class:`Network` hands out contexts with the
part of pyzmq's socket API those classes use (a ROUTER that binds, DEALERs that connect); a frame sent is in
the peer's inbox at once, in send order, so one thread that serves the agents and the dispatcher in turn
reproduces a trial bit for bit.

A vehicle's radio link can be cut (``is_down``): frames to and from its DEALERs are then lost, as on a
real radio, and the reliability layer above has to cope exactly as it would in the field.

Paced trials serve each agent in a thread of its own (as a vehicle's computer would): ``poll`` then waits
up to its timeout for a frame, and the inboxes are guarded by a condition variable.
"""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

import zmq

__all__ = ["Network"]


class _Socket:
    """What ServerBus and ClientBus set and call on a socket; options are accepted and kept."""

    def __init__(self, network: Network, owner: str) -> None:
        self._network = network
        self.owner = owner
        self._inbox: collections.deque[Any] = collections.deque()
        self._ready = threading.Condition()
        self._options: dict[Any, Any] = {}
        self.closed = False

    def setsockopt(self, option: Any, value: Any) -> None:
        self._options[option] = value

    def poll(self, timeout_ms: int = 0, flags: int = zmq.POLLIN) -> int:
        """``POLLIN`` when a frame is waiting; waits up to ``timeout_ms`` for one (0: never waits)."""
        if not self._inbox and timeout_ms > 0:
            with self._ready:
                self._ready.wait_for(lambda: bool(self._inbox), timeout_ms / 1000.0)
        return zmq.POLLIN if self._inbox else 0

    def _put(self, item: Any) -> None:
        with self._ready:
            self._inbox.append(item)
            self._ready.notify()


class _Router(_Socket):
    def __init__(self, network: Network) -> None:
        super().__init__(network, "")
        self.endpoint = ""

    def bind(self, url: str) -> None:
        self.endpoint = url
        self._network.bind(url, self)

    def getsockopt_string(self, option: int) -> str:
        if option != zmq.LAST_ENDPOINT:
            raise zmq.ZMQError(zmq.EINVAL)
        return self.endpoint

    def recv_multipart(self, flags: int = 0, copy: bool = True) -> list[bytes]:
        if not self._inbox:
            raise zmq.Again()
        rid, frame = self._inbox.popleft()
        return [rid, frame]

    def send_multipart(self, parts: list[bytes], flags: int = 0) -> None:
        rid, frame = parts
        dealer = self._network.dealer(rid)
        if dealer is None:
            raise zmq.ZMQError(zmq.EHOSTUNREACH)   # ROUTER_MANDATORY: no such peer (any more)
        if not self._network.is_cut(dealer.owner):
            dealer._put(frame)

    def deliver(self, rid: bytes, frame: bytes) -> None:
        self._put((rid, frame))

    def close(self, linger: int = 0) -> None:
        self.closed = True
        self._network.unbind(self.endpoint)


class _Dealer(_Socket):
    def __init__(self, network: Network, owner: str) -> None:
        super().__init__(network, owner)
        self.rid = b""
        self._url = ""

    def connect(self, url: str) -> None:
        self._url = url
        self.rid = self._network.attach(self)

    def send(self, frame: bytes, flags: int = 0) -> None:
        router = self._network.router(self._url)
        if router is None:
            raise zmq.Again()         # nothing bound there: a DEALER with immediate=1 would not queue it
        if not self._network.is_cut(self.owner):
            router.deliver(self.rid, bytes(frame))

    def recv(self, flags: int = 0) -> bytes:
        if not self._inbox:
            raise zmq.Again()
        return self._inbox.popleft()

    def close(self, linger: int = 0) -> None:
        self.closed = True
        self._network.detach(self)


class _Context:
    """A pyzmq context look-alike: sockets on ``network``; DEALERs it makes belong to ``owner``."""

    def __init__(self, network: Network, owner: str) -> None:
        self._network = network
        self._owner = owner

    def socket(self, kind: int) -> _Socket:
        if kind == zmq.ROUTER:
            return _Router(self._network)
        if kind == zmq.DEALER:
            return _Dealer(self._network, self._owner)
        raise zmq.ZMQError(zmq.EINVAL)

    def term(self) -> None:
        pass


class Network:
    """Loopback endpoints shared by one dispatcher and its agents; ``is_down(owner)`` cuts radio links.

    Routing ids are handed out in connection order, so they too are the same in every run.
    """

    def __init__(self, is_down: Callable[[str], bool] = lambda owner: False) -> None:
        self._routers: dict[str, _Router] = {}
        self._dealers: dict[bytes, _Dealer] = {}
        self._next_rid = 1
        self._is_down = is_down
        self._lock = threading.Lock()
        self.frames_lost = 0

    def context(self, owner: str = "") -> _Context:
        """A context for the dispatcher (``owner=""``) or for the agent of vehicle ``owner``."""
        return _Context(self, owner)

    def is_cut(self, owner: str) -> bool:
        if owner and self._is_down(owner):
            with self._lock:
                self.frames_lost += 1
            return True
        return False

    # --- bookkeeping --------------------------------------------------------------------------------------
    def bind(self, url: str, router: _Router) -> None:
        if url in self._routers:
            raise zmq.ZMQError(zmq.EADDRINUSE)
        self._routers[url] = router

    def unbind(self, url: str) -> None:
        self._routers.pop(url, None)

    def router(self, url: str) -> _Router | None:
        return self._routers.get(url)

    def attach(self, dealer: _Dealer) -> bytes:
        with self._lock:
            rid = b"\x00" + self._next_rid.to_bytes(4, "big")
            self._next_rid += 1
            self._dealers[rid] = dealer
        return rid

    def detach(self, dealer: _Dealer) -> None:
        self._dealers.pop(dealer.rid, None)

    def dealer(self, rid: bytes) -> _Dealer | None:
        return self._dealers.get(rid)
