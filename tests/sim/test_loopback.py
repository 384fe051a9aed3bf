"""The loopback transport: the real ServerBus and ClientBus register, deliver and recover through it."""
from __future__ import annotations

import threading

import pytest
import zmq
from agrifleet.core.bus import BusConfig, ClientBus, ServerBus
from agrifleet.core.messages import Hello, Progress, Welcome
from agrifleet.sim._loopback import Network

CONFIG = BusConfig(heartbeat_s=1.0, liveness=3, resend_s=1.0)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def hello() -> Hello:
    return Hello(vehicle="v1", vehicle_kind="tractor", driver="sim", software="test", session="agent-1")


def pair(down: set[str]) -> tuple[Clock, Network, ServerBus, ClientBus]:
    clock = Clock()
    net = Network(lambda owner: owner in down)
    server = ServerBus("inproc://loop", None, None, CONFIG, clock, context=net.context())
    server.start()
    client = ClientBus("inproc://loop", hello, None, CONFIG, clock, context=net.context("v1"))
    client.start()
    return clock, net, server, client


def register(server: ServerBus, client: ClientBus) -> None:
    client.tick()                                    # HELLO
    (inbound,) = server.poll(0.0)
    assert isinstance(inbound.msg, Hello) and inbound.vehicle == "v1" and inbound.new_session
    server.send("v1", Welcome(ref=inbound.msg.id, session="server-1", heartbeat_s=1.0))
    assert client.poll(0.0) == [] and client.registered


def test_register_deliver_and_recover_a_frame_lost_on_a_cut_link():
    down: set[str] = set()
    clock, net, server, client = pair(down)
    register(server, client)
    client.send(Progress(mission=1, index=5, state=1), reliable=True)
    (inbound,) = server.poll(0.0)
    assert inbound.msg.index == 5
    server.ack(inbound)
    client.poll(0.0)
    assert not client.link.outbox                    # acknowledged
    down.add("v1")
    msg_id = client.send(Progress(mission=1, index=9, state=1), reliable=True)
    assert server.poll(0.0) == [] and net.frames_lost == 1
    down.clear()
    clock.t = 1.5                                    # the resend timer fires
    client.tick()
    (inbound,) = server.poll(0.0)
    assert inbound.msg.id == msg_id and inbound.msg.index == 9 and client.counters.resends == 1


def test_a_silent_link_makes_the_server_lose_the_vehicle_and_the_client_reconnect():
    down: set[str] = set()
    clock, _, server, client = pair(down)
    register(server, client)
    down.add("v1")
    clock.t = 3.5
    assert server.tick() == ["v1"] and not server.connected("v1")
    assert client.tick() is False and client.counters.reconnects == 1
    # frames to a closed DEALER cannot be routed (ROUTER_MANDATORY)
    with pytest.raises(zmq.ZMQError):
        server.router.send_multipart([b"\x00\x00\x00\x00\x01", b"x"])
    down.clear()
    clock.t = 3.7                                    # after the back-off: a new socket, a new HELLO
    client.tick()
    client.tick()
    (inbound,) = server.poll(0.0)
    assert isinstance(inbound.msg, Hello) and not inbound.new_session and server.connected("v1")


def test_routing_ids_are_handed_out_in_connection_order():
    net = Network()
    ids = []
    for owner in ("a", "b", "c"):
        sock = net.context(owner).socket(zmq.DEALER)
        sock.connect("inproc://x")
        ids.append(sock.rid)
    assert ids == [b"\x00\x00\x00\x00\x01", b"\x00\x00\x00\x00\x02", b"\x00\x00\x00\x00\x03"]


def test_poll_waits_for_a_frame_from_another_thread():
    net = Network()
    router = net.context().socket(zmq.ROUTER)
    router.bind("inproc://w")
    dealer = net.context("v").socket(zmq.DEALER)
    dealer.connect("inproc://w")
    assert dealer.poll(0) == 0
    timer = threading.Timer(0.05, lambda: router.send_multipart([dealer.rid, b"hi"]))
    timer.start()
    assert dealer.poll(5000) == zmq.POLLIN and dealer.recv() == b"hi"
    timer.join()
