"""The simulated tractor ECU on a world stepped by the test: commands read at the control tick, the
watchdog on simulated time, stale datagrams dropped, and the hold that keeps a paced world from outrunning
its driver."""
from __future__ import annotations

import itertools
import socket
import threading

import numpy as np
import pytest
from agrifleet.drivers.tractor_link import EcuFault, LinkMsg, decode, encode
from agrifleet.sim.tractor_ecu import TractorEcu
from agrifleet.sim.vehicles import EXAMPLE_TRACTOR, TractorModel
from agrifleet.sim.world import World


class Driver:
    """A bare tractor-link peer: sends commands with its own counter."""

    def __init__(self, ecu: TractorEcu) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(1.0)
        self.ecu = ecu.address
        self.seq = itertools.count(1)

    def command(self, speed: float, seq: int | None = None, engage: bool = True) -> None:
        n = next(self.seq) if seq is None else seq
        data = encode(LinkMsg.COMMAND, n, steer=0.0, speed=speed, sections=1, engage=engage)
        self.sock.sendto(data, self.ecu)

    def states(self) -> list[dict]:
        out = []
        self.sock.setblocking(False)
        try:
            while True:
                kind, msg = decode(self.sock.recvfrom(65536)[0])
                if kind is LinkMsg.STATE:
                    out.append(msg)
        except BlockingIOError:
            return out
        finally:
            self.sock.settimeout(1.0)


@pytest.fixture()
def rig():
    world = World(rng=np.random.default_rng(3), dt_s=0.05)
    world.add_vehicle("t1", TractorModel(EXAMPLE_TRACTOR))
    made: list[TractorEcu] = []

    def make(**kwargs) -> tuple[TractorEcu, Driver]:
        ecu = TractorEcu(world, "t1", **kwargs)      # not started: only the world's thread reads the link
        made.append(ecu)
        return ecu, Driver(ecu)

    yield world, make
    for ecu in made:
        ecu.close()


def test_commands_are_read_at_the_control_tick_and_judged_on_simulated_time(rig):
    world, make = rig
    ecu, drv = make()
    drv.command(2.0)
    world.step()                       # no serving thread: the tick itself took the command in
    assert ecu.fault is EcuFault.NONE and world.state("t1").armed
    world.run(0.45)
    assert ecu.fault is EcuFault.NONE  # 0.45 s of simulated time without a command: still fresh
    world.run(0.1)
    assert ecu.fault is EcuFault.WATCHDOG and ecu.watchdog_trips == 1
    world.run(1.0)
    assert ecu.watchdog_trips == 1 and world.state("t1").speed_mps < 2.0
    drv.command(2.0)
    world.run(0.1)
    assert ecu.fault is EcuFault.NONE and drv.states()


def test_an_overtaken_command_is_dropped(rig):
    world, make = rig
    ecu, drv = make()
    drv.command(1.0, seq=10)
    drv.command(3.0, seq=9)            # older: arrived late (or the other reader took the newer first)
    world.step()
    assert ecu._cmd.speed_mps == 1.0
    drv.command(3.0, seq=11)
    world.step()
    assert ecu._cmd.speed_mps == 3.0


def test_a_paced_world_waits_for_a_late_driver_instead_of_tripping_the_watchdog(rig):
    world, make = rig
    ecu, drv = make(hold_s=5.0)
    drv.command(2.0)
    world.step()
    # the driver's next commands come 0.2 and 0.4 s of wall time later: an unhurried world would be past
    # its 0.5 s watchdog long before (it steps 0.7 s in well under a millisecond)
    late = [threading.Timer(delay, drv.command, args=(2.0,)) for delay in (0.2, 0.4)]
    for timer in late:
        timer.start()
    world.run(0.7)
    for timer in late:
        timer.join()
    assert ecu.holds == 2 and ecu.watchdog_trips == 0 and ecu.fault is EcuFault.NONE
    assert 0.55 < ecu._cmd_t <= 0.65     # read during the second hold, half a watchdog after the first
    assert world.state("t1").speed_mps > 0.5


def test_a_silent_driver_is_waited_for_once_then_trips_the_watchdog(rig):
    world, make = rig
    ticks = itertools.count()
    ecu, drv = make(hold_s=1.0, wall_clock=lambda: next(ticks) * 0.25)   # each look at the clock: 0.25 s
    drv.command(2.0)
    world.step()
    world.run(3.0)                     # the driver died after its first command
    assert ecu.holds == 1 and ecu.watchdog_trips == 1 and ecu.fault is EcuFault.WATCHDOG
    assert world.state("t1").sections == 0
    drv.command(2.0)                   # it speaks again: engaged, and worth waiting for once more
    world.run(0.1)
    assert ecu.fault is EcuFault.NONE
    world.run(2.0)
    assert ecu.holds == 2 and ecu.watchdog_trips == 2
