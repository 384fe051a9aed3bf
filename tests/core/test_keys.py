"""CURVE keys and the ZAP allow-list: only allow-listed vehicles register, and only as themselves."""
from __future__ import annotations

import time

import pytest
import zmq
from agrifleet.core.bus import request
from agrifleet.core.errors import ConfigError, ConnectionLost
from agrifleet.core.keys import KeyRing, Role, generate, load_client, load_server
from agrifleet.core.plan_io import plans_to_msgpack

from .fleet_doubles import FleetRig, field_plans, wait_for


def test_generate_layout_is_idempotent_and_validates_names(tmp_path):
    written = generate(tmp_path / "k", vehicles=["t1", "t2"], operators=["ops"])
    names = sorted(p.relative_to(tmp_path / "k").as_posix() for p in written)
    assert names == ["operators/ops.key", "operators/ops.key_secret", "server.key", "server.key_secret",
                     "vehicles/t1.key", "vehicles/t1.key_secret", "vehicles/t2.key", "vehicles/t2.key_secret"]
    assert (tmp_path / "k" / "vehicles" / "t1.key_secret").stat().st_mode & 0o077 == 0
    assert generate(tmp_path / "k", vehicles=["t1"], operators=["ops"]) == []
    assert len(generate(tmp_path / "k", vehicles=["t3"], operators=[])) == 2
    with pytest.raises(ConfigError, match="'../x'"):
        generate(tmp_path / "k", vehicles=["../x"])


def test_loading_keys_and_clear_errors(tmp_path):
    generate(tmp_path, vehicles=["t1"])
    server = load_server(tmp_path)
    client = load_client(tmp_path, "t1")
    assert client.server_public == server.public and len(client.secret) == 40
    operator = load_client(tmp_path, "operator", Role.OPERATOR)
    assert operator.public != client.public
    with pytest.raises(ConfigError, match="t9.key_secret: no such key file"):
        load_client(tmp_path, "t9")
    with pytest.raises(ConfigError, match="no such key file"):
        load_server(tmp_path / "nowhere")
    (tmp_path / "vehicles" / "bad.key_secret").write_text("garbage")
    with pytest.raises(ConfigError, match="bad.key_secret: not a CURVE certificate|holds no secret key"):
        load_client(tmp_path, "bad")


def test_key_ring_maps_keys_to_principals_and_sees_revocation(tmp_path):
    generate(tmp_path, vehicles=["t1", "t2"])
    ring = KeyRing(tmp_path)
    t1 = load_client(tmp_path, "t1")
    assert ring.lookup(t1.public).name == "t1" and ring.lookup(t1.public).role is Role.VEHICLE
    assert ring.lookup(load_client(tmp_path, "operator", Role.OPERATOR).public).role is Role.OPERATOR
    assert ring.callback("*", t1.public)
    (tmp_path / "vehicles" / "t1.key").unlink()
    time.sleep(0.01)
    (tmp_path / "vehicles").touch()
    ring.refresh()
    assert ring.lookup(t1.public) is None and not ring.callback("*", t1.public)
    assert ring.lookup(zmq.curve_keypair()[0]) is None


def test_curve_admits_only_allow_listed_vehicles_as_themselves(tmp_path):
    keys = tmp_path / "keys"
    generate(keys, vehicles=["a", "b"])
    stranger_dir = tmp_path / "stranger"
    generate(stranger_dir, vehicles=["x"])                 # a key pair the dispatcher never saw
    stranger = load_client(stranger_dir, "x")
    stranger = type(stranger)(stranger.public, stranger.secret, load_server(keys).public)
    with FleetRig(str(tmp_path / "f.db"), ["a"], keys_dir=str(keys)) as rig:
        rig.extra_agent("intruder", "x", stranger)
        rig.extra_agent("impostor", "a2", load_client(keys, "b"))   # b's key claiming to be a2
        url = rig.dispatcher.endpoint
        operator = load_client(keys, "operator", Role.OPERATOR)
        plans, _ = field_plans(["a", "x", "a2"])
        job = request(url, "submit", {"name": "k", "vehicles": ["a"], "plans": plans_to_msgpack([plans["a"]])},
                      keys=operator)["job"]
        wait_for(lambda: rig.dispatcher.bus.counters.unauthorised >= 1, what="impostor refused")
        with pytest.raises(ConfigError, match="no vehicle 'x' has registered"):
            request(url, "submit", {"vehicles": ["x"], "plans": plans_to_msgpack([plans["x"]])}, keys=operator)
        with pytest.raises(ConfigError, match="is not an operator key"):
            request(url, "list", keys=load_client(keys, "a"))
        with pytest.raises(ConnectionLost):
            request(url, "list", timeout_s=0.5)           # no key at all: the handshake never completes
        with pytest.raises(ConnectionLost):
            request(url, "list", keys=stranger, timeout_s=0.5)
        rig.wait_job(job)
        registered = {v["id"] for v in request(url, "vehicles", keys=operator)}
        assert registered == {"a"}
        for name in ("x", "a2"):
            (driver,) = rig.drivers[name]
            assert driver.uploads == [] and "start" not in driver.calls
        assert rig.agents["intruder"].bus.registered is False and rig.agents["impostor"].bus.registered is False
        assert rig.drivers["a"][0].uploads
