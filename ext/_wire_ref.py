"""Plain-Python reference of ``_wire.pyx``: the same :class:`Codec`, the same answers (``None`` included).

See ``_wire.pyx`` for the table format and for why the codec answers ``None`` instead of raising. Here the
frame is read by msgpack itself, keeping the map's pairs in order (so that a repeated key, a container
value or bytes that are not msgpack are seen exactly as the kernel sees them), then checked field by field.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import msgpack

__all__ = ["Codec"]

Check = tuple[Any, ...]
FieldRow = tuple[str, Check, tuple[str, Any], Any]      # name, check, (default kind, default), member slot
KindRow = tuple[int, type, Any, Iterable[FieldRow]]     # kind, class, id slot, fields

_SCALARS = (type(None), bool, int, float, str, bytes)
_INT64 = (-(1 << 63), (1 << 63) - 1)
_MAX_LEN = 0xFFFFFFFF       # msgpack's longest string or binary


class _Pairs(list):  # type: ignore[type-arg]
    """A msgpack map read as its list of (key, value) pairs."""


def _valid(check: Check, v: Any) -> tuple[bool, Any]:
    """(True, the slot value) when ``v`` passes ``check``; (False, None) otherwise."""
    what = check[0]
    if what == "int":
        return (type(v) is int and check[1] <= v <= check[2]), v
    if what == "float":
        if type(v) is int:
            v = float(v)
        ok = type(v) is float and (check[1] <= v <= check[2] or (check[3] and math.isnan(v)))
        return ok, v
    if what == "str":
        return (type(v) is str and len(v) <= check[1] and (check[2] or len(v) > 0)), v
    if what == "bool":
        return type(v) is bool, v
    if what == "bytes":
        return (type(v) is bytes and len(v) <= check[1]), v
    if what == "enum":
        if type(v) is int and v in check[1]:
            return True, check[1][v]
        return False, None
    if what == "any":
        return True, v
    return False, None     # "container": never a scalar


def _packable(v: Any) -> bool:
    if v is None or v is True or v is False or isinstance(v, float):
        return True
    if isinstance(v, int):
        return _INT64[0] <= v < 1 << 64
    if isinstance(v, bytes):
        return len(v) <= _MAX_LEN
    if isinstance(v, str):
        try:
            return len(v.encode("utf-8")) <= _MAX_LEN
        except UnicodeError:
            return False
    return False


class Codec:
    """Decoder and encoder for the kinds of a table (see ``_wire.pyx``)."""

    def __init__(self, table: Iterable[KindRow]) -> None:
        self._kinds: dict[int, tuple[type, Any, tuple[FieldRow, ...]]] = {}
        self._by_cls: dict[type, int] = {}
        for kind, cls, id_slot, fields in table:
            self._kinds[int(kind)] = (cls, id_slot, tuple(fields))
            self._by_cls[cls] = int(kind)

    def decode(self, frame: Any) -> Any:
        """The message in ``frame`` (bytes), or ``None`` when this codec cannot vouch for it."""
        if type(frame) is not bytes:
            return None
        try:
            pairs = msgpack.unpackb(frame, raw=False, strict_map_key=False, object_pairs_hook=_Pairs)
        except Exception:  # noqa: BLE001 - any failure to read means "not for this codec"
            return None
        if type(pairs) is not _Pairs:
            return None
        if not all(type(k) is str and type(v) in _SCALARS for k, v in pairs):
            return None
        doc = dict(pairs)
        version, kind, msg_id = doc.pop("v", None), doc.pop("kind", None), doc.pop("id", 0)
        if type(version) is not int or version != 1 or type(kind) is not int or kind not in self._kinds:
            return None
        if type(msg_id) is not int or not 0 <= msg_id <= _INT64[1]:
            return None
        cls, id_slot, fields = self._kinds[kind]
        if not doc.keys() <= {name for name, *_ in fields}:
            return None
        msg = object.__new__(cls)
        id_slot.__set__(msg, msg_id)
        for name, check, (default_kind, default), slot in fields:
            if name in doc:
                ok, value = _valid(check, doc[name])
                if not ok:
                    return None
            elif default_kind == "required":
                return None
            else:
                value = default if default_kind == "value" else default()
            slot.__set__(msg, value)
        return msg

    def encode(self, msg: Any) -> bytes | None:
        """``msg`` as msgpack bytes (fields in schema order, then ``v``, ``kind``, ``id``), or ``None`` when
        a value is not a scalar this codec packs or the class is not in the table."""
        kind = self._by_cls.get(type(msg))
        if kind is None:
            return None
        _, id_slot, fields = self._kinds[kind]
        doc = {name: slot.__get__(msg, type(msg)) for name, _, _, slot in fields}
        doc.update(v=1, kind=kind, id=id_slot.__get__(msg, type(msg)))
        if not all(_packable(v) for v in doc.values()):
            return None
        return msgpack.packb(doc, use_bin_type=True)

