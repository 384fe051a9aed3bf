"""The transport: sequence numbers, acks and resends, duplicates, liveness, reconnect; over loopback TCP."""
from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import zmq
from agrifleet.core.bus import BusConfig, ClientBus, Link, ServerBus
from agrifleet.core.errors import ConfigError
from agrifleet.core.messages import (
    Ack,
    Command,
    CommandAck,
    CommandCode,
    Error,
    Heartbeat,
    Hello,
    Progress,
    Telemetry,
    decode,
    encode,
)

FAST = BusConfig(heartbeat_s=0.05, liveness=4, resend_s=0.1, reconnect_min_s=0.05, reconnect_max_s=0.2)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def hello(vehicle: str = "t1", session: str = "s1") -> Callable[[], Hello]:
    return lambda: Hello(vehicle=vehicle, vehicle_kind="tractor", driver="test", software="0", session=session)


def pump(server: ServerBus, client: ClientBus, until: Callable[[], bool], timeout_s: float = 5.0,
         served: list | None = None, got: list | None = None) -> None:
    """Run both ends (the server answers HELLO with WELCOME, as the dispatcher does) until ``until()``."""
    from agrifleet.core.messages import Welcome
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for inbound in server.poll(0.005):
            if isinstance(inbound.msg, Hello):
                server.send(inbound.vehicle, Welcome(ref=inbound.msg.id, session="srv", heartbeat_s=FAST.heartbeat_s))
            elif served is not None:
                served.append(inbound)
        server.tick()
        msgs = client.poll(0.005)
        if got is not None:
            got.extend(msgs)
        client.tick()
        if until():
            return
    raise AssertionError("condition not reached in time")


@pytest.fixture()
def pair():
    ctx = zmq.Context()
    server = ServerBus("tcp://127.0.0.1:0", None, config=FAST, context=ctx)
    server.start()
    client = ClientBus(server.endpoint, hello(), config=FAST, context=ctx)
    client.start()
    yield server, client
    client.close()
    server.close()
    ctx.term()


# --- Link, on a fake clock -------------------------------------------------------------------------------

def test_link_ids_acks_and_resend_timing():
    clock = FakeClock()
    link = Link(BusConfig(resend_s=1.0), clock())
    i1, f1 = link.stamp(Command(command=CommandCode.START, mission=1), clock(), reliable=True)
    i2, _ = link.stamp(Command(command=CommandCode.PAUSE, mission=1), clock(), reliable=True)
    assert (i1, i2) == (1, 2) and decode(f1).id == 1
    assert link.stamp(Telemetry(t_s=1.0), clock(), reliable=False)[0] == 0
    clock.t += 0.5
    assert list(link.due(clock())) == []
    clock.t += 0.6
    assert len(list(link.due(clock()))) == 2
    assert list(link.due(clock())) == []          # just resent: wait another resend_s
    assert link.acknowledge(1) and not link.acknowledge(1)
    clock.t += 1.0
    assert [decode(f).id for f in link.due(clock())] == [2]


def test_link_supersedes_by_key():
    link = Link(BusConfig(), 0.0)
    a, _ = link.stamp(Progress(mission=1, index=5, state=1), 0.0, True, key=("progress", 1))
    b, _ = link.stamp(Progress(mission=1, index=9, state=1), 0.0, True, key=("progress", 1))
    c, _ = link.stamp(Progress(mission=2, index=1, state=1), 0.0, True, key=("progress", 2))
    assert list(link.outbox) == [b, c]
    assert not link.acknowledge(a) and link.acknowledge(b)
    d, _ = link.stamp(Progress(mission=1, index=12, state=1), 0.0, True, key=("progress", 1))
    assert list(link.outbox) == [c, d]


def test_link_duplicate_window_and_new_session():
    link = Link(BusConfig(dedup_window=16), 0.0)
    msg = Progress(mission=1, index=1, state=1, id=7)
    assert not link.is_duplicate(msg) and link.is_duplicate(msg)
    link.remember_ack(7, b"ack-7")
    assert link.cached_ack(7) == b"ack-7"
    assert not link.is_duplicate(Progress(mission=1, index=1, state=1))   # id 0: never deduplicated
    for i in range(100, 120):
        link.is_duplicate(Progress(mission=1, index=1, state=1, id=i))
    assert not link.is_duplicate(msg)          # fell out of the window of 16
    link.new_peer_session("other")
    assert not link.is_duplicate(Progress(mission=1, index=1, state=1, id=100))


def test_link_liveness():
    link = Link(BusConfig(heartbeat_s=1.0, liveness=3), 0.0)
    assert link.alive(3.0) and not link.alive(3.01)


def test_bus_config_is_validated():
    with pytest.raises(ConfigError, match="heartbeat_s"):
        BusConfig(heartbeat_s=0)
    with pytest.raises(ConfigError, match="liveness"):
        BusConfig(liveness=0)


# --- both ends over loopback ------------------------------------------------------------------------------

def test_register_then_reliable_command_is_resent_until_acked_and_served_once(pair):
    server, client = pair
    pump(server, client, lambda: client.registered)
    assert server.connected("t1")
    got: list = []
    msg_id = server.send("t1", Command(command=CommandCode.START, mission=4), reliable=True)
    pump(server, client, lambda: len(got) == 1, got=got)
    assert got[0].id == msg_id and got[0].command is CommandCode.START
    # no ack yet: the server resends, the client recognises the duplicate and does not serve it again
    pump(server, client, lambda: server.counters.resends >= 2, got=got)
    assert len(got) == 1 and client.counters.duplicates >= 1
    client.send(CommandAck(ref=msg_id, command=CommandCode.START, ok=True))
    served: list = []
    pump(server, client, lambda: not server.links["t1"].outbox, served=served)
    assert [type(i.msg).__name__ for i in served] == ["CommandAck"]
    # a resend that crossed the ack: the client answers from its cache; the second ack is not served
    frame = encode(Command(command=CommandCode.START, mission=4, id=msg_id))
    dup_server, dup_client = server.counters.duplicates, client.counters.duplicates
    server._send_raw(server.routes["t1"], frame)
    pump(server, client, lambda: server.counters.duplicates > dup_server, served=served, got=got)
    assert client.counters.duplicates == dup_client + 1
    assert len(got) == 1 and len(served) == 1


def test_duplicate_request_gets_the_cached_ack_and_is_not_served_twice(pair):
    server, client = pair
    pump(server, client, lambda: client.registered)
    served: list = []
    pid = client.send(Progress(mission=1, index=3, state=1), reliable=True, key=("progress", 1))
    pump(server, client, lambda: len(served) == 1, served=served)
    server.ack(served[0])          # ack is cached against the progress id
    pump(server, client, lambda: not client.link.outbox)
    frame = encode(Progress(mission=1, index=3, state=1, id=pid))
    client._send_frame(frame)      # the same progress again, as if our ack had been lost
    acks_before = client.counters.frames_in
    pump(server, client, lambda: server.counters.duplicates >= 1 and client.counters.frames_in > acks_before,
         served=served)
    assert len(served) == 1


def test_client_messages_wait_for_registration_and_flush_after_welcome(pair):
    server, client = pair
    client.send(Progress(mission=2, index=8, state=1), reliable=True, key=("progress", 2))
    client.send(Telemetry(t_s=1.0))           # unreliable and unregistered: dropped
    served: list = []
    pump(server, client, lambda: len(served) == 1, served=served)
    assert isinstance(served[0].msg, Progress) and served[0].msg.index == 8 and served[0].vehicle == "t1"


def test_bad_frames_are_counted_and_the_server_keeps_serving(pair):
    server, client = pair
    raw = server.context.socket(zmq.DEALER)
    raw.linger = 0
    raw.connect(server.endpoint)
    try:
        for junk in (b"", b"\xc1", b"\x93\x01\x02\x03", encode(Telemetry(t_s=1.0))[:-3]):
            raw.send(junk)
        raw.send_multipart([b"a", b"b"])
        raw.send(encode(Telemetry(t_s=1.0)))     # valid but never registered: told to say hello
        pump(server, client, lambda: client.registered and server.counters.bad_frames >= 5)
        assert raw.poll(2000)
        reply = decode(raw.recv())
        assert isinstance(reply, Error) and reply.code == "not_registered"
    finally:
        raw.close()


def test_dispatcher_restart_client_reconnects_and_resends_pending(pair):
    server, client = pair
    ctx = server.context
    pump(server, client, lambda: client.registered)
    port_url = server.endpoint
    server.router.close(linger=0)
    server.router = None
    client.send(Progress(mission=5, index=40, state=1), reliable=True, key=("progress", 5))
    deadline = time.monotonic() + 3
    while client.counters.reconnects == 0 and time.monotonic() < deadline:
        client.poll(0.01)
        client.tick()
    assert client.counters.reconnects >= 1 and not client.registered
    server2 = ServerBus(port_url, None, config=FAST, context=ctx)
    server2.start()
    try:
        served: list = []
        pump(server2, client, lambda: any(isinstance(i.msg, Progress) for i in served), served=served)
        assert client.registered and client.server_session == "srv"
        assert [i.msg.index for i in served if isinstance(i.msg, Progress)] == [40]
    finally:
        server2.close()


def test_server_reports_a_silent_vehicle_once(pair):
    server, client = pair
    pump(server, client, lambda: client.registered)
    client.socket.close(linger=0)
    client.socket = None
    lost: list = []
    deadline = time.monotonic() + 3
    while not lost and time.monotonic() < deadline:
        server.poll(0.01)
        lost = server.tick()
    assert lost == ["t1"] and not server.connected("t1")
    assert server.tick() == []
    with pytest.raises(Exception, match="never registered"):
        server.send("nobody", Ack(ref=1))


def test_reconnect_backoff_doubles_up_to_the_limit():
    clock = FakeClock()
    ctx = zmq.Context()
    config = BusConfig(heartbeat_s=1.0, liveness=1, reconnect_min_s=0.5, reconnect_max_s=2.0)
    client = ClientBus("tcp://127.0.0.1:9", hello(), config=config, clock=clock, context=ctx)
    client.start()
    waits = []
    try:
        for _ in range(5):
            clock.t += 1.01                    # silent for a heartbeat: reconnect scheduled
            client.tick()
            waits.append(client._reconnect_at - clock.t)
            clock.t = client._reconnect_at
            client.tick()                      # reopens the socket
    finally:
        client.close()
        ctx.term()
    assert waits == pytest.approx([0.5, 1.0, 2.0, 2.0, 2.0])


@pytest.fixture()
def clocked_pair():
    clock = FakeClock()
    ctx = zmq.Context()
    server = ServerBus("tcp://127.0.0.1:0", None, config=FAST, clock=clock, context=ctx)
    server.start()
    client = ClientBus(server.endpoint, hello(), config=FAST, clock=clock, context=ctx)
    client.start()
    yield server, client, clock
    client.close()
    server.close()
    ctx.term()


def read_until(bus: ServerBus | ClientBus, until: Callable[[list], bool], timeout_s: float = 5.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout_s
    while not until(got):
        assert time.monotonic() < deadline, "nothing arrived"
        got.extend(bus.poll(0.02))
    return got


def test_frames_waiting_unread_keep_their_sender_alive_and_silence_while_listening_does_not(clocked_pair):
    server, client, clock = clocked_pair
    pump(server, client, lambda: client.registered)
    client.send(Telemetry(t_s=1.0))
    server.send("t1", Heartbeat())
    assert server.router.poll(5000) and client.socket.poll(5000)    # both arrived, neither read
    clock.t += 10 * FAST.dead_after_s            # both ends busy serving for that long
    assert server.tick() == [] and server.connected("t1")
    assert client.tick() and client.counters.reconnects == 0
    read_until(server, lambda got: any(isinstance(i.msg, Telemetry) for i in got))
    while server.router.poll(300):               # and the heartbeat the agent's tick just sent
        server.poll(0)
    assert server.tick() == []
    clock.t += 2 * FAST.dead_after_s             # now the dispatcher has read everything and heard nothing
    assert server.tick() == ["t1"] and not server.connected("t1")
    while client.socket.poll(300):               # the agent reads the heartbeat, then hears nothing more
        client.poll(0)
    assert client.link.last_rx == clock.t and client.tick()
    clock.t += 2 * FAST.dead_after_s
    assert not client.tick() and client.counters.reconnects == 1


def test_an_unregistered_stream_is_told_to_say_hello_once_per_resend_period(clocked_pair):
    server, _, clock = clocked_pair
    raw = server.context.socket(zmq.DEALER)
    raw.linger = 0
    raw.connect(server.endpoint)
    try:
        for _ in range(50):
            raw.send(encode(Telemetry(t_s=1.0)))
        read_until(server, lambda got: server.counters.frames_in >= 50)
        clock.t += 1.5 * FAST.resend_s
        raw.send(encode(Telemetry(t_s=2.0)))
        read_until(server, lambda got: server.counters.frames_in >= 51)
        errors = []
        while raw.poll(200):
            errors.append(decode(raw.recv()))
        assert [e.code for e in errors] == ["not_registered", "not_registered"]
    finally:
        raw.close()
