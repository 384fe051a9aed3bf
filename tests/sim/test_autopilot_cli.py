"""``agrifleet sim vehicle``: arguments, one-line errors, a short run that answers a ground station, and
the registry of ``sim`` sub-commands."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from agrifleet.core.cli import main
from agrifleet.core.errors import ConfigError
from agrifleet.sim import cli as sim_cli
from agrifleet.sim.cli import SUBCOMMANDS, SimCommand, parse_home, register


def test_parse_home():
    assert parse_home("52.1,5.3") == (52.1, 5.3, 0.0)
    assert parse_home(" -33.9 , 151.2 , 40 ") == (-33.9, 151.2, 40.0)
    for bad, why in (("52.1", "expected LAT,LON"), ("95,5", "latitude"), ("52,200", "longitude"),
                     ("52,5,x", "expected LAT,LON"), ("nan,5", "latitude")):
        with pytest.raises(ConfigError, match=why):
            parse_home(bad)


@pytest.mark.parametrize("args,message", [
    (["--home", "52,500"], "longitude 500.0"),
    (["--home", "52,5", "--signing-key", "abc"], "signing key"),
    (["--home", "52,5", "--sysid", "255"], "--sysid 255"),
    (["--home", "52,5", "--speed-factor", "0"], "--speed-factor"),
    (["--home", "52,5", "--mavlink", "udp://:14550"], "pymavlink syntax"),
    (["--home", "52,5", "--param", "NO_SUCH_PARAM=1"], "NO_SUCH_PARAM"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(["sim", "vehicle", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("agrifleet sim: error:")


def test_a_short_run_answers_a_ground_station(tmp_path):
    """The vehicle sends to the ground station's port (udpout, like PX4's simulator) and stops on its own
    after --duration simulated seconds, printing what it did."""
    from tests.sim._gcs import mavutil
    gcs = mavutil.mavlink_connection("udpin:127.0.0.1:0", source_system=255, source_component=230)
    port = gcs.port.getsockname()[1]
    args = ["sim", "vehicle", "--kind", "rover", "--autopilot", "ardupilot", "--home", "52,5,3",
            "--sysid", "9", "--speed-factor", "20", "--duration", "40",
            "--mavlink", f"udpout:127.0.0.1:{port}"]
    proc = subprocess.Popen([sys.executable, "-m", "agrifleet.core.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hb = gcs.recv_match(type="HEARTBEAT", blocking=True, timeout=10)
        assert hb is not None and hb.get_srcSystem() == 9 and hb.type == 10 and hb.autopilot == 3
        gcs.mav.command_long_send(9, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0)
        ack = gcs.recv_match(type="COMMAND_ACK", blocking=True, timeout=5)
        assert ack.result == 0 and ack.target_system == 255
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        gcs.close()
    assert proc.returncode == 0, err
    assert "sysid 9, ardupilot rover, home 52.0000000,5.0000000,3" in out
    assert "stopped after 40.0 s simulated" in out


def test_sub_commands_are_a_registry(capsys):
    class Echo:
        name = "echo"
        help = "say hello"

        def add_arguments(self, parser: argparse.ArgumentParser) -> None:
            parser.add_argument("--word", default="hello")

        def run(self, args: argparse.Namespace) -> int:
            print(args.word)
            return 0

    register(Echo())
    try:
        parser = argparse.ArgumentParser()
        SimCommand.add_arguments(parser)
        assert SimCommand.run(parser.parse_args(["echo", "--word", "hi"])) == 0
        assert capsys.readouterr().out.strip() == "hi"
        assert SimCommand.run(parser.parse_args([])) == 2
        assert "vehicle" in capsys.readouterr().err
    finally:
        SUBCOMMANDS.pop("echo")
    assert set(SUBCOMMANDS) >= {"vehicle"} and sim_cli.SUBCOMMANDS is SUBCOMMANDS
