"""Typing stub of the compiled wire codec (same class as ``_wire_ref.py``)."""
from collections.abc import Iterable
from typing import Any

Check = tuple[Any, ...]
FieldRow = tuple[str, Check, tuple[str, Any], Any]
KindRow = tuple[int, type, Any, Iterable[FieldRow]]

class Codec:
    def __init__(self, table: Iterable[KindRow]) -> None: ...
    def decode(self, frame: Any) -> Any: ...
    def encode(self, msg: Any) -> bytes | None: ...
