"""MAVLink links of the simulated autopilot: pymavlink connections with optional MAVLink 2 signing.

A link is a pymavlink connection string (``udpout:127.0.0.1:14550``, ``udpin:0.0.0.0:14560``,
``tcp:host:port``, ``tcpin:0.0.0.0:5760``, ``/dev/ttyUSB0,57600``). The vehicle sends every message on every
link, each packed by that link's own encoder, so sequence numbers and signatures are per link as on a real
autopilot's serial ports. Links are read only when the runner's ``select`` says a socket is readable: a
simulator that polls with sleeps makes every request/response exchange cost a sleep period.

With a signing key, a link signs what it sends and drops every unsigned or badly signed message it
receives (pymavlink rejects them while parsing), except ``RADIO_STATUS`` which radios inject unsigned.
"""
from __future__ import annotations

import logging
from typing import Any

from agrifleet.core.errors import ConfigError

from ._mav_proto import load_mavutil

__all__ = ["Link", "parse_signing_key"]

logger = logging.getLogger(__name__)

_UNSIGNED_OK = frozenset({109})   # RADIO_STATUS
_PREFIXES = ("udp:", "udpin:", "udpout:", "udpbcast:", "tcp:", "tcpin:", "serial:")


def parse_signing_key(text: str | bytes | None) -> bytes | None:
    """A 32-byte signing key from 64 hex digits (or raw bytes); None stays None."""
    if text is None:
        return None
    if isinstance(text, bytes):
        key = text
    else:
        try:
            key = bytes.fromhex(text.strip())
        except ValueError:
            raise ConfigError(f"signing key {text!r} is not hexadecimal (expected 64 hex digits)") from None
    if len(key) != 32:
        raise ConfigError(f"signing key has {len(key)} bytes; MAVLink 2 signing needs exactly 32 "
                          "(64 hex digits)")
    return key


def _allow_unsigned(_mav: Any, msg_id: int) -> bool:
    return msg_id in _UNSIGNED_OK


def check_url(url: str) -> str:
    """Refuse a connection string pymavlink would misread, naming it."""
    if not url or url.startswith(("udp://", "tcp://", "udpin://", "udpout://", "serial://")):
        raise ConfigError(f"MAVLink link {url!r}: use pymavlink syntax (udpout:HOST:PORT, udpin:HOST:PORT, "
                          "tcp:HOST:PORT, tcpin:HOST:PORT or DEVICE,BAUD), not a MAVSDK URL")
    if url.startswith(_PREFIXES):
        rest = url.split(":", 1)[1]
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"MAVLink link {url!r}: expected HOST:PORT after the scheme")
    return url


class Link:
    """One pymavlink connection of a vehicle (or a test's ground station)."""

    def __init__(self, url: str, *, sysid: int, compid: int, signing_key: bytes | None = None,
                 link_id: int | None = None) -> None:
        mavutil = load_mavutil()
        self.url = check_url(url)
        try:
            self.conn = mavutil.mavlink_connection(url, source_system=sysid, source_component=compid,
                                                   autoreconnect=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"MAVLink link {url!r}: {exc}") from None
        self._mav_error = mavutil.mavlink.MAVError
        self.bad_messages = 0
        self.signing_key: bytes | None = None
        if signing_key is not None:
            self.set_signing(signing_key, link_id)

    # -- signing -------------------------------------------------------------------------------------
    def set_signing(self, key: bytes | None, link_id: int | None = None) -> None:
        """Sign with ``key`` and refuse unsigned input; ``None`` (or an all-zero key) turns signing off."""
        if key is None or not any(key):
            self.conn.disable_signing()
            self.signing_key = None
            return
        self.conn.setup_signing(key, sign_outgoing=True, allow_unsigned_callback=_allow_unsigned,
                                link_id=link_id)
        self.signing_key = key

    @property
    def rejected(self) -> int:
        """Messages dropped for a missing or bad signature."""
        return int(self.conn.mav.signing.reject_count)

    # -- I/O -----------------------------------------------------------------------------------------
    def fileno(self) -> int:
        return int(self.conn.fd)

    @property
    def local_port(self) -> int:
        """The local UDP/TCP port (useful with ``udpin:127.0.0.1:0``), or -1."""
        sock = getattr(self.conn, "port", None)
        try:
            return int(sock.getsockname()[1])
        except (AttributeError, OSError):
            return -1

    def send(self, msg: Any) -> None:
        try:
            self.conn.mav.send(msg)
        except OSError as exc:   # a serial port unplugged, a TCP peer gone: keep the vehicle alive
            logger.debug("send on %s failed: %s", self.url, exc)

    def receive(self, limit: int = 512) -> list[Any]:
        """Every complete message waiting on the link (reads at most ``limit`` datagrams or chunks); bad
        and rejected frames are counted and dropped, never raised. Bytes go straight to the parser, without
        pymavlink's per-message bookkeeping, which costs as much as the parsing itself."""
        out: list[Any] = []
        mav = self.conn.mav
        for _ in range(limit):
            try:
                data = self.conn.recv()
            except (OSError, ValueError) as exc:
                logger.debug("receive on %s failed: %s", self.url, exc)
                break
            if not data:
                break
            try:
                msgs = mav.parse_buffer(data)
            except self._mav_error as exc:      # mangled input that robust parsing still raises on
                self.bad_messages += 1
                logger.debug("undecodable input on %s: %s", self.url, exc)
                continue
            if msgs:
                self._keep(msgs, out)
        for _ in range(limit):                  # a stream may leave complete messages in the parser
            try:
                msg = mav.parse_char(b"")
            except self._mav_error:
                self.bad_messages += 1
                continue
            if msg is None:
                break
            self._keep([msg], out)
        return out

    def decode(self, data: bytes) -> list[Any]:
        """The messages in bytes already read from this link (bad frames counted and dropped)."""
        out: list[Any] = []
        try:
            msgs = self.conn.mav.parse_buffer(data)
        except self._mav_error:
            self.bad_messages += 1
            return out
        if msgs:
            self._keep(msgs, out)
        return out

    def _keep(self, msgs: list[Any], out: list[Any]) -> None:
        for msg in msgs:
            if msg.get_type() == "BAD_DATA":
                self.bad_messages += 1
            else:
                out.append(msg)

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
