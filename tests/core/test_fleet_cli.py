"""The fleet commands: keys gen, serve, agent, job submit/list/status/pause/resume/abort, watch."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from agrifleet.core.bus import request
from agrifleet.core.cli import main
from agrifleet.core.errors import ConnectionLost
from agrifleet.core.plan_io import write_plans

from .fleet_doubles import FleetRig, field_plans, wait_for

FIELD_GEOJSON = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "north"},
                 "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [84, 0], [84, 60], [0, 60], [0, 0]]]}}]}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_gen(tmp_path, capsys):
    code, out, _ = run(capsys, "keys", "gen", "--dir", str(tmp_path / "k"), "--vehicles", "t1, t2")
    assert code == 0 and len(out.split()) == 8 and "vehicles/t2.key_secret" in out
    code, out, err = run(capsys, "keys", "gen", "--dir", str(tmp_path / "k"), "--vehicles", "t1")
    assert code == 0 and out == "" and "all keys exist already" in err
    code, _, err = run(capsys, "keys", "gen", "--dir", str(tmp_path / "k"), "--vehicles", "a/b")
    assert code == 2 and err.count("\n") == 1 and "'a/b' cannot be used as a key file name" in err


@pytest.mark.slow
def test_job_commands_against_a_running_dispatcher(tmp_path, capsys):
    with FleetRig(str(tmp_path / "f.db"), ["a", "b"], time_scale=20.0) as rig:
        url = rig.dispatcher.endpoint
        plans, _ = field_plans(["a", "b"])
        plan_file = tmp_path / "plans.afp"
        write_plans(list(plans.values()), plan_file)
        code, out, _ = run(capsys, "job", "submit", str(plan_file), "--vehicles", "a,b", "--server", url)
        assert code == 0 and out.startswith("job 1 submitted: a (277 samples), b (277 samples)")
        wait_for(lambda: rig.drivers["a"][0].idx > 10)
        code, out, _ = run(capsys, "job", "pause", "1", "--server", url)
        assert (code, out.strip()) == (0, "pause: job(s) 1")
        code, out, _ = run(capsys, "job", "list", "--server", url, "--json")
        (listed,) = json.loads(out)
        assert listed["id"] == 1 and listed["state"] == "paused" and listed["vehicles"] == ["a", "b"]
        code, out, _ = run(capsys, "job", "resume", "--vehicle", "b", "--server", url)
        assert out.strip() == "resume: vehicle b"
        run(capsys, "job", "resume", "1", "--server", url)
        rig.wait_job(1)
        code, out, _ = run(capsys, "job", "status", "1", "--server", url)
        assert code == 0 and "coverage 100.0 %" in out and out.count("complete") == 3
        code, _, err = run(capsys, "job", "status", "7", "--server", url)
        assert code == 2 and err.strip() == "agrifleet job: error: no job 7"
        code, _, err = run(capsys, "job", "pause", "1", "--vehicle", "a", "--server", url)
        assert code == 2 and "give a job or --vehicle, not both" in err
        code, _, err = run(capsys, "job", "submit", str(tmp_path / "missing.geojson"), "--vehicles", "a",
                           "--server", url)
        assert code == 2 and err.count("\n") == 1 and "missing.geojson: no such file" in err
        code, _, err = run(capsys, "job", "submit", str(plan_file), "--vehicles", " ,", "--server", url)
        assert code == 2 and "--vehicles: give at least one vehicle id" in err
    code, _, err = run(capsys, "job", "list", "--server", url, "--timeout", "0.3")
    assert code == 1 and err.count("\n") == 1 and "no answer from the dispatcher" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_agent_job_watch_as_processes_with_curve(tmp_path):
    """The commands a farm manager types, as separate processes, with CURVE keys and the sim driver."""
    keys, db = tmp_path / "keys", tmp_path / "fleet.db"
    port, pub = _free_port(), _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cli = [sys.executable, "-m", "agrifleet.core.cli"]
    assert subprocess.run(cli + ["keys", "gen", "--dir", str(keys), "--vehicles", "t1"], env=env,
                          capture_output=True, check=False).returncode == 0
    field = tmp_path / "north.geojson"
    field.write_text(json.dumps(FIELD_GEOJSON))
    server = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen(cli + ["serve", "--bind", server, "--pub", f"tcp://127.0.0.1:{pub}", "--db", str(db),
                                     "--keys", str(keys), "--heartbeat", "0.2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
    try:
        procs.append(subprocess.Popen(cli + ["agent", "--vehicle", "t1", "--driver", "sim", "--server", server,
                                             "--keys", str(keys), "--heartbeat", "0.2", "-o", "real_time_factor=30",
                                             ], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
        client = ["--server", server, "--keys", str(keys)]
        from agrifleet.core.keys import Role, load_client
        operator = load_client(keys, "operator", Role.OPERATOR)
        wait_for(lambda: _vehicles(server, operator), 60, 0.2, what="t1 registered")
        watch = subprocess.Popen(cli + ["watch", "--count", "30"] + client, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        out = subprocess.run(cli + ["job", "submit", str(field), "--vehicles", "t1", "--implement",
                                    "sprayer:boom_width_m=12,n_sections=4", "--turn-radius", "5",
                                    "--headland-passes", "1", "--angle", "0"] + client,
                             env=env, capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("job 1 submitted: t1 (")
        watched, _ = watch.communicate(timeout=60)
        assert watch.returncode == 0
        lines = watched.strip().splitlines()
        assert len(lines) == 30 and any(line.startswith("state  t1:on/") for line in lines)
        assert any(line.startswith("progress mission 1: index") for line in lines)
        status = wait_for(lambda: (s := request(server, "status", {"job": 1}, operator))["missions"][0]["acked_index"] > 20
                          and s, 60, 0.2, what="progress")
        assert status["state"] == "active"
        out = subprocess.run(cli + ["job", "abort", "1"] + client, env=env, capture_output=True, text=True,
                             timeout=60, check=False)
        assert out.returncode == 0 and out.stdout.strip() == "abort: job(s) 1"
        status = request(server, "status", {"job": 1}, operator)
        assert status["state"] == "aborted" and status["missions"][0]["phase"] == "aborted"
        denied = subprocess.run(cli + ["job", "list", "--server", server, "--timeout", "1"], env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert denied.returncode == 1 and "no answer from the dispatcher" in denied.stderr
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    served = procs[0].stdout.read()
    assert "agrifleet serve: database" in served and "(CURVE)" in served
    assert "Traceback" not in served


def _vehicles(server, keys) -> bool:
    try:
        return any(v["id"] == "t1" and v["connected"] for v in request(server, "vehicles", keys=keys, timeout_s=1))
    except ConnectionLost:
        return False
