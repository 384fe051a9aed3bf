"""CURVE keys for the fleet link: generation, loading, and the ZAP allow-list of vehicle and operator keys.

A key directory holds::

    server.key, server.key_secret          the dispatcher's certificate
    vehicles/<vehicle-id>.key[_secret]     one certificate per vehicle (the agent needs the secret)
    operators/<name>.key[_secret]          one per operator client (job, watch)

The dispatcher allows exactly the public keys found under ``vehicles/`` and ``operators/`` (delete a file
to revoke a key; the allow-list is re-read when the folders change). The file name is the principal: a
vehicle key may register only the vehicle of that name, and only operator keys may submit or steer jobs.
A vehicle copies ``server.key`` and its own ``vehicles/<id>.key_secret``; nothing else needs to leave the
dispatcher.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from .errors import ConfigError

__all__ = [
    "ZAP_DOMAIN",
    "ClientKeys",
    "KeyRing",
    "Principal",
    "Role",
    "ServerKeys",
    "generate",
    "load_client",
    "load_server",
    "start_authenticator",
]

logger = logging.getLogger(__name__)

ZAP_DOMAIN = "agrifleet"
_SERVER = "server"
_FOLDERS = {"vehicle": "vehicles", "operator": "operators"}


class Role(str, Enum):
    VEHICLE = "vehicle"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is behind an authenticated connection: a name (the certificate's file stem) and a role."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class ServerKeys:
    public: bytes
    secret: bytes
    directory: Path


@dataclass(frozen=True, slots=True)
class ClientKeys:
    public: bytes
    secret: bytes
    server_public: bytes

    def apply(self, socket: zmq.Socket) -> None:
        """Make ``socket`` a CURVE client of the dispatcher."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_serverkey = self.server_public


def _check_name(name: str, what: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\\" in name or len(name) > 64:
        raise ConfigError(f"{what} name {name!r} cannot be used as a key file name")


def generate(directory: str | os.PathLike[str], vehicles: list[str] = (), operators: list[str] = ("operator",),
             force: bool = False) -> list[Path]:
    """Create the server certificate (unless present) and one certificate per vehicle and operator.

    Existing certificates are kept unless ``force``; returns the files written.
    """
    root = Path(directory)
    written: list[Path] = []
    try:
        root.mkdir(parents=True, exist_ok=True)
        jobs = [(root, _SERVER, "server")] + [(root / _FOLDERS["vehicle"], v, "vehicle") for v in vehicles] + \
               [(root / _FOLDERS["operator"], o, "operator") for o in operators]
        for folder, name, role in jobs:
            _check_name(name, role)
            folder.mkdir(exist_ok=True)
            public = folder / f"{name}.key"
            if public.exists() and not force:
                continue
            pub, sec = zmq.auth.create_certificates(folder, name, metadata={"role": role})
            os.chmod(sec, 0o600)
            written += [Path(pub), Path(sec)]
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot write keys ({exc.strerror})") from None
    return written


def _load(path: Path, need_secret: bool) -> tuple[bytes, bytes | None]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such key file (create keys with 'agrifleet keys gen')")
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a CURVE certificate ({exc})") from None
    if need_secret and not secret:
        raise ConfigError(f"{path}: holds no secret key")
    return public, secret


def load_server(directory: str | os.PathLike[str]) -> ServerKeys:
    root = Path(directory)
    public, secret = _load(root / f"{_SERVER}.key_secret", need_secret=True)
    return ServerKeys(public, secret or b"", root)


def load_client(directory: str | os.PathLike[str], name: str, role: Role = Role.VEHICLE) -> ClientKeys:
    """Keys of one agent (``role`` vehicle) or operator client: its own secret and the server's public key."""
    root = Path(directory)
    _check_name(name, role.value)
    server_public, _ = _load(root / f"{_SERVER}.key", need_secret=False)
    candidates = [root / _FOLDERS[role.value] / f"{name}.key_secret", root / f"{name}.key_secret"]
    path = next((p for p in candidates if p.is_file()), candidates[0])
    public, secret = _load(path, need_secret=True)
    return ClientKeys(public, secret or b"", server_public)


class KeyRing:
    """The allow-list: z85 public key -> :class:`Principal`, re-read when the key folders change."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._stamp: tuple[float, ...] = ()
        self._keys: dict[bytes, Principal] = {}
        self.refresh()

    def _folders(self) -> list[tuple[Path, Role]]:
        return [(self.directory / _FOLDERS[r.value], r) for r in Role]

    def refresh(self) -> None:
        stamp = tuple(p.stat().st_mtime if p.is_dir() else -1.0 for p, _ in self._folders())
        with self._lock:
            if stamp == self._stamp:
                return
            keys: dict[bytes, Principal] = {}
            for folder, role in self._folders():
                for cert in sorted(folder.glob("*.key")) if folder.is_dir() else ():
                    try:
                        public, _ = zmq.auth.load_certificate(cert)
                    except (OSError, ValueError) as exc:
                        logger.warning("ignoring key file %s: %s", cert, exc)
                        continue
                    keys[public] = Principal(cert.stem, role)
            self._keys, self._stamp = keys, stamp
            logger.info("allow-list: %d vehicle and %d operator keys", sum(p.role is Role.VEHICLE for p in keys.values()),
                        sum(p.role is Role.OPERATOR for p in keys.values()))

    def lookup(self, z85_key: bytes | str) -> Principal | None:
        key = z85_key.encode("ascii") if isinstance(z85_key, str) else z85_key
        self.refresh()
        with self._lock:
            return self._keys.get(key)

    # ZAP credentials-provider protocol of pyzmq's Authenticator
    def callback(self, domain: str, key: bytes) -> bool:
        allowed = self.lookup(key) is not None
        if not allowed:
            logger.warning("refused CURVE key %s (not in %s)", key.decode("ascii", "replace"), self.directory)
        return allowed


def start_authenticator(context: zmq.Context[Any], ring: KeyRing) -> ThreadAuthenticator:
    """Start a ZAP handler on ``context`` that admits only the keys of ``ring``."""
    auth = ThreadAuthenticator(context, log=logging.getLogger(__name__ + ".zap"))
    auth.start()
    auth.configure_curve_callback(domain=ZAP_DOMAIN, credentials_provider=ring)
    return auth
