"""Fleet-link benchmarks against raw pyzmq + msgpack peers, measured in the same run.

* telemetry throughput: one agent's DEALER streams telemetry to the dispatcher (decoded, validated, served by
  the fleet manager, downsampled into SQLite) vs a DEALER streaming the same maps to a ROUTER that only unpacks
  them;
* command round trip: operator -> dispatcher -> agent -> driver -> ack -> dispatcher -> operator (a pause or
  resume that waits for the vehicle's confirmation) vs a raw broker forwarding msgpack maps between a client
  and a worker; one command every few milliseconds, so this is the latency of a command, not a saturated rate;
* delivery of a 100,000-point plan: from ``job submit`` to the vehicle driving it (stored, chunked, sent,
  CRC-checked, decoded, handed to the driver, acknowledged, started), and the same bytes sent raw with an ack.

Every peer runs in its own process, as in the field. Prints medians over ``--repeats`` runs and the ratios.
Usage: ``python bench/transport.py [--messages 50000] [--round-trips 400] [--repeats 5]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq
from agrifleet.core.bus import BusConfig, ClientBus, request
from agrifleet.core.errors import CommandRejected
from agrifleet.core.messages import Hello, Reply, Request, Telemetry, decode, encode
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.core.plan_io import plans_to_msgpack
from agrifleet.drivers.base import Capabilities, Driver, GnssQuality, MissionState, TelemetrySample

BUS = BusConfig(heartbeat_s=0.5, liveness=20, resend_s=1.0)
GAP_S = 0.003   # between round trips: the latency of one command, not the saturated command rate


# --- the fleet side ------------------------------------------------------------------------------------

class BenchDriver(Driver):
    """A vehicle that obeys at once and reports its state: the driver's cost is not what is measured."""

    name = "bench"

    def __init__(self, vehicle_id: str, url: str | None = None) -> None:
        super().__init__(vehicle_id, url)
        self.state = MissionState.IDLE
        self.index = -1
        self.last = -math.inf

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(kinds=frozenset({"tractor"}), features=frozenset({"spray", "pause"}))

    def connect(self, timeout_s: float = 10.0) -> None:
        pass

    def upload(self, plan: Plan, start_index: int = 0) -> None:
        self.state, self.index = MissionState.IDLE, start_index

    def _go(self, allowed: tuple[MissionState, ...], new: MissionState, call: str) -> None:
        if self.state not in allowed:
            raise CommandRejected(call, "DENIED", self.state.name)
        self.state, self.last = new, -math.inf

    def start(self) -> None:
        self._go((MissionState.IDLE,), MissionState.ACTIVE, "start()")

    def pause(self) -> None:
        self._go((MissionState.ACTIVE,), MissionState.PAUSED, "pause()")

    def resume(self) -> None:
        self._go((MissionState.PAUSED,), MissionState.ACTIVE, "resume()")

    def abort(self) -> None:
        self.state = MissionState.ABORTED

    def return_home(self) -> None:
        self.state = MissionState.RETURNING

    def telemetry(self, timeout_s: float = 0.0) -> Iterator[TelemetrySample]:
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            yield TelemetrySample(t_mono_s=now, x=0.0, y=0.0, mission=self.state, plan_index=self.index,
                                  gnss=GnssQuality.RTK_FIXED, battery_pct=90.0)

    def close(self) -> None:
        pass


def _dispatcher_process(db: str, pipe: Any) -> None:
    from agrifleet.core.dispatcher import Dispatcher, DispatcherConfig
    d = Dispatcher(DispatcherConfig(bind="tcp://127.0.0.1:0", pub_bind=None, db=db, bus=BUS, replan_after_s=600))
    d.start()
    pipe.send(d.endpoint)
    pipe.recv()            # until told to stop
    d.stop()


def _agent_process(endpoint: str, vehicle: str) -> None:
    from agrifleet.drivers.agent import Agent
    Agent(vehicle, BenchDriver(vehicle), endpoint, bus=BUS).run()


def _start_dispatcher(ctx: Any, db: str) -> tuple[Any, Any, str]:
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_dispatcher_process, args=(db, child), daemon=True)
    proc.start()
    return proc, parent, parent.recv()


def fleet_throughput(ctx: Any, n: int, db: str) -> float:
    """Telemetry messages served by the dispatcher per second, from the first send to the answer to a ping
    sent after the last one (frames of one connection are served in order). The agent's send queue holds
    the whole stream, so nothing is dropped at its high-water mark (the raw sender blocks there instead),
    and the dispatcher's count of served messages is checked: a dropped message must not count as
    throughput. The agent keeps its heartbeats going while it waits, as an agent does."""
    proc, pipe, endpoint = _start_dispatcher(ctx, db)
    hello = lambda: Hello(vehicle="t1", vehicle_kind="tractor", driver="bench", software="bench", session="s")
    client = ClientBus(endpoint, hello, config=dataclasses.replace(BUS, sndhwm=n + 1000))
    client.start()
    try:
        while not client.registered:
            client.poll(0.01)
            client.tick()
        served0 = request(endpoint, "stats")["served"]
        t0 = time.perf_counter()
        for i in range(n):
            client.send(Telemetry(t_s=float(i), x=1.0 + i, y=2.0, z=0.0, heading_rad=0.5, speed_mps=2.5,
                                  battery_pct=80.0, mode="AUTO", armed=True, gnss=4, state=1, mission=1, index=i))
        ping = client.send(Request(op="ping"), reliable=True)
        deadline = time.monotonic() + 60
        while not any(isinstance(m, Reply) and m.ref == ping for m in client.poll(0.05)):
            client.tick()
            if time.monotonic() > deadline:
                raise RuntimeError("the dispatcher did not answer the ping after the telemetry within 60 s "
                                   f"(agent dropped {client.counters.dropped_out} frames)")
        rate = n / (time.perf_counter() - t0)
        served = request(endpoint, "stats")["served"] - served0 - 2    # less the ping and this request
        if client.counters.dropped_out or served != n:
            raise RuntimeError(f"{n} telemetry messages sent, {served} served, {client.counters.dropped_out} "
                               "dropped by the agent: not a throughput")
        return rate
    finally:
        client.close()
        pipe.send("stop")
        proc.join(10)


def fleet_round_trips(ctx: Any, rounds: int, db: str, plan_bytes: bytes) -> tuple[list[float], float]:
    """Round-trip times of pause/resume that wait for the vehicle, and the plan delivery time."""
    proc, pipe, endpoint = _start_dispatcher(ctx, db)
    agent = ctx.Process(target=_agent_process, args=(endpoint, "t1"), daemon=True)
    agent.start()
    zctx = zmq.Context()
    try:
        while not request(endpoint, "vehicles", context=zctx):
            time.sleep(0.01)
        t0 = time.perf_counter()
        job = request(endpoint, "submit", {"name": "bench", "vehicles": ["t1"], "plans": plan_bytes}, context=zctx)
        deadline = time.monotonic() + 60
        while request(endpoint, "status", {"job": job["job"]}, context=zctx)["missions"][0]["phase"] != "active":
            if time.monotonic() > deadline:
                raise RuntimeError("the plan did not reach the vehicle within 60 s")
            time.sleep(0.002)
        delivery = time.perf_counter() - t0
        sock = zctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(endpoint)
        times = []
        for k in range(rounds):
            op = "pause" if k % 2 == 0 else "resume"
            time.sleep(GAP_S)
            t = time.perf_counter()
            sock.send(encode(Request(op=op, args={"vehicle": "t1", "wait": True}, id=k + 1)))
            while True:
                if not sock.poll(10_000):
                    raise RuntimeError(f"no answer to {op} within 10 s")
                msg = decode(sock.recv())
                if isinstance(msg, Reply) and msg.ref == k + 1:
                    break
            times.append(time.perf_counter() - t)
            assert msg.ok, msg.error
        sock.close()
        return times, delivery
    finally:
        agent.terminate()
        agent.join(10)
        pipe.send("stop")
        proc.join(10)
        zctx.term()


# --- the raw peers ---------------------------------------------------------------------------------------

def _raw_sink(pipe: Any) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    pipe.send(f"tcp://127.0.0.1:{port}")
    count = 0
    while True:
        rid, frame = sock.recv_multipart()
        doc = msgpack.unpackb(frame)
        count += 1
        if doc.get("op") == "ping":
            sock.send_multipart([rid, msgpack.packb({"ok": True, "count": count})])
        elif doc.get("op") == "stop":
            break
        elif doc.get("op") == "plan":
            sock.send_multipart([rid, msgpack.packb({"ok": True, "n": len(doc["data"])})])


def raw_throughput(ctx: Any, n: int) -> float:
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_raw_sink, args=(child,), daemon=True)
    proc.start()
    endpoint = parent.recv()
    zctx = zmq.Context()
    sock = zctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    try:
        sock.send(msgpack.packb({"op": "ping"}))
        count0 = msgpack.unpackb(sock.recv())["count"]
        t0 = time.perf_counter()
        for i in range(n):
            sock.send(msgpack.packb({"t_s": float(i), "x": 1.0 + i, "y": 2.0, "z": 0.0, "lat_deg": math.nan,
                                     "lon_deg": math.nan, "heading_rad": 0.5, "speed_mps": 2.5, "battery_pct": 80.0,
                                     "tank_l": math.nan, "mode": "AUTO", "armed": True, "gnss": 4, "state": 1,
                                     "mission": 1, "index": i, "sections": 0, "v": 1, "kind": 9, "id": 0}))
        sock.send(msgpack.packb({"op": "ping"}))
        count = msgpack.unpackb(sock.recv())["count"]
        rate = n / (time.perf_counter() - t0)
        if count - count0 - 1 != n:
            raise RuntimeError(f"raw sink received {count - count0 - 1} of {n} messages")
        return rate
    finally:
        sock.send(msgpack.packb({"op": "stop"}))
        proc.join(10)
        sock.close()
        zctx.term()


def _raw_broker(pipe: Any) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    pipe.send(f"tcp://127.0.0.1:{port}")
    worker = None
    while True:
        rid, frame = sock.recv_multipart()
        doc = msgpack.unpackb(frame)
        if doc.get("op") == "ready":
            worker = rid
            pipe.send("ready")
        elif doc.get("op") == "stop":
            break
        elif "client" in doc:                       # the worker's answer: back to its client
            sock.send_multipart([doc["client"], msgpack.packb({"ok": True, "ref": doc["ref"]})])
        else:                                       # a client's command: on to the worker
            sock.send_multipart([worker, msgpack.packb({"command": doc["op"], "client": rid, "ref": doc["id"]})])


def _raw_worker(endpoint: str) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(endpoint)
    sock.send(msgpack.packb({"op": "ready"}))
    while True:
        doc = msgpack.unpackb(sock.recv())
        sock.send(msgpack.packb({"client": doc["client"], "ref": doc["ref"], "ok": True}))


def raw_round_trips(ctx: Any, rounds: int, plan_bytes: bytes) -> tuple[list[float], float]:
    parent, child = ctx.Pipe()
    broker = ctx.Process(target=_raw_broker, args=(child,), daemon=True)
    broker.start()
    endpoint = parent.recv()
    worker = ctx.Process(target=_raw_worker, args=(endpoint,), daemon=True)
    worker.start()
    parent.recv()                                    # the worker has registered
    zctx = zmq.Context()
    sock = zctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    try:
        times = []
        for k in range(rounds):
            time.sleep(GAP_S)
            t = time.perf_counter()
            sock.send(msgpack.packb({"op": "pause" if k % 2 == 0 else "resume", "id": k + 1}))
            while msgpack.unpackb(sock.recv()).get("ref") != k + 1:
                pass
            times.append(time.perf_counter() - t)
        sink_parent, sink_child = ctx.Pipe()
        sink = ctx.Process(target=_raw_sink, args=(sink_child,), daemon=True)
        sink.start()
        psock = zctx.socket(zmq.DEALER)
        psock.linger = 0
        psock.connect(sink_parent.recv())
        psock.send(msgpack.packb({"op": "ping"}))
        psock.recv()
        t0 = time.perf_counter()
        psock.send(msgpack.packb({"op": "plan", "data": plan_bytes}))
        psock.recv()
        delivery = time.perf_counter() - t0
        psock.send(msgpack.packb({"op": "stop"}))
        sink.join(10)
        psock.close()
        return times, delivery
    finally:
        sock.send(msgpack.packb({"op": "stop"}))
        broker.join(10)
        worker.terminate()
        worker.join(10)
        sock.close()
        zctx.term()


# --- main ----------------------------------------------------------------------------------------------

def long_plan(n: int = 100_000) -> Plan:
    """A plan of ``n`` samples: 50 passes of a 1 km field at 0.5 m spacing, joined end to end."""
    per = n // 50
    parts = []
    for k in range(50):
        y = np.linspace(0.0, 1000.0, per) if k % 2 == 0 else np.linspace(1000.0, 0.0, per)
        parts.append(make_path(np.column_stack([np.full(per, 6.0 * k), y]), kind=SegmentKind.SWATH,
                               speed_mps=2.5, sections=0xFF, swath=k))
    return Plan(np.concatenate(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--round-trips", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    plan_bytes = plans_to_msgpack([long_plan()])
    fleet_tp, raw_tp, fleet_rtt, raw_rtt, fleet_plan, raw_plan = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            raw_tp.append(raw_throughput(ctx, args.messages))
            fleet_tp.append(fleet_throughput(ctx, args.messages, str(Path(tmp) / f"tp{r}.db")))
            times, delivery = raw_round_trips(ctx, args.round_trips, plan_bytes)
            raw_rtt.append(statistics.median(times))
            raw_plan.append(delivery)
            times, delivery = fleet_round_trips(ctx, args.round_trips, str(Path(tmp) / f"rt{r}.db"), plan_bytes)
            fleet_rtt.append(statistics.median(times))
            fleet_plan.append(delivery)
            print(f"run {r + 1}: telemetry {fleet_tp[-1]:,.0f} vs raw {raw_tp[-1]:,.0f} msg/s; round trip "
                  f"{1e3 * fleet_rtt[-1]:.3f} vs raw {1e3 * raw_rtt[-1]:.3f} ms; 100k-point plan "
                  f"{1e3 * fleet_plan[-1]:.0f} ms (raw bytes {1e3 * raw_plan[-1]:.1f} ms)", flush=True)
    tp, rtp = statistics.median(fleet_tp), statistics.median(raw_tp)
    rtt, rrtt = statistics.median(fleet_rtt), statistics.median(raw_rtt)
    # each run measures both peers back to back, so the per-run ratio is the paired, load-robust figure
    tp_ratios = sorted(f / r for f, r in zip(fleet_tp, raw_tp))
    rtt_ratios = sorted(f / r for f, r in zip(fleet_rtt, raw_rtt))
    print(f"\nmedians over {args.repeats} runs ({args.messages:,} telemetry messages, {args.round_trips} round "
          f"trips, plan of {len(plan_bytes) / 1e6:.1f} MB per run)")
    print(f"telemetry throughput: fleet {tp:,.0f} msg/s, raw {rtp:,.0f} msg/s; ratio: median of runs "
          f"{statistics.median(tp_ratios):.2f} (range {tp_ratios[0]:.2f}-{tp_ratios[-1]:.2f}), of medians "
          f"{tp / rtp:.2f} (goal >= 0.6)")
    print(f"command round trip:   fleet {1e3 * rtt:.3f} ms, raw {1e3 * rrtt:.3f} ms; ratio: median of runs "
          f"{statistics.median(rtt_ratios):.2f} (range {rtt_ratios[0]:.2f}-{rtt_ratios[-1]:.2f}), of medians "
          f"{rtt / rrtt:.2f} (goal <= 2)")
    print(f"100k-point plan:      submit -> driving {1e3 * statistics.median(fleet_plan):.0f} ms; the same "
          f"{len(plan_bytes) / 1e6:.1f} MB raw with an ack {1e3 * statistics.median(raw_plan):.1f} ms")


if __name__ == "__main__":
    main()
