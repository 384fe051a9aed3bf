"""Reading a parsed TOML document with errors that name the key path (``fleet[2].spec.wheelbase_m``).

A :class:`Node` wraps one table. Every value is taken through a typed getter that checks it and says, in
one line, which key holds what and what was expected; :meth:`Node.finish` then reports the first key
nobody asked for, so a misspelt key is an error rather than a silently ignored setting.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from agrifleet.core.errors import ScenarioError

__all__ = ["MISSING", "Node", "fail", "show"]

MISSING: Any = object()


def show(value: Any) -> str:
    """A value as the user wrote it, shortened."""
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 60 else text[:57] + "..."


def fail(source: str, path: str, problem: str) -> ScenarioError:
    return ScenarioError(f"{source}: {path}: {problem}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Node:
    """One TOML table at ``path`` (``""`` for the document) of the file ``source``."""

    def __init__(self, data: Mapping[str, Any], path: str, source: str) -> None:
        self.data = data
        self.path = path
        self.source = source
        self._used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> ScenarioError:
        return fail(self.source, self.key(name), problem)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = MISSING) -> Any:
        self._used.add(name)
        if name not in self.data:
            if default is MISSING:
                raise fail(self.source, self.key(name), "is required")
            return default
        return self.data[name]

    # --- typed getters --------------------------------------------------------------------------------------
    def number(self, name: str, default: Any = MISSING, *, minimum: float | None = None,
               above: float | None = None, maximum: float | None = None) -> Any:
        value = self.raw(name, default)
        if name not in self.data:
            return value
        return check_number(value, self.source, self.key(name), minimum=minimum, above=above, maximum=maximum)

    def integer(self, name: str, default: Any = MISSING, *, minimum: int | None = None,
                maximum: int | None = None) -> Any:
        value = self.raw(name, default)
        if name not in self.data:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(name, f"must be a whole number, got {show(value)}")
        if minimum is not None and value < minimum:
            raise self.error(name, f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(name, f"must be <= {maximum}, got {value}")
        return value

    def text(self, name: str, default: Any = MISSING, *, choices: Sequence[str] | None = None) -> Any:
        value = self.raw(name, default)
        if name not in self.data:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"must be a non-empty string, got {show(value)}")
        if choices is not None and value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}, got {show(value)}")
        return value

    def flag(self, name: str, default: Any = MISSING) -> Any:
        value = self.raw(name, default)
        if name in self.data and not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {show(value)}")
        return value

    def numbers(self, name: str, default: Any = MISSING, *, length: Sequence[int] = ()) -> Any:
        """A list of numbers (``length``: the lengths allowed)."""
        value = self.raw(name, default)
        if name not in self.data:
            return value
        if not isinstance(value, list) or not all(_is_number(v) and math.isfinite(v) for v in value):
            raise self.error(name, f"must be a list of finite numbers, got {show(value)}")
        if length and len(value) not in length:
            want = " or ".join(str(n) for n in length)
            raise self.error(name, f"must hold {want} numbers, got {len(value)}")
        return [float(v) for v in value]

    def strings(self, name: str, default: Any = MISSING) -> Any:
        value = self.raw(name, default)
        if name not in self.data:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(name, f"must be a list of non-empty strings, got {show(value)}")
        return list(value)

    def table(self, name: str, *, required: bool = False) -> Node:
        value = self.raw(name, MISSING if required else {})
        if not isinstance(value, dict):
            raise self.error(name, f"must be a table, got {show(value)}")
        return Node(value, self.key(name), self.source)

    def tables(self, name: str) -> list[Node]:
        """An array of tables (``[[name]]``); none is an empty list."""
        value = self.raw(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(name, f"must be an array of tables ([[{name}]]), got {show(value)}")
        return [Node(v, f"{self.key(name)}[{i}]", self.source) for i, v in enumerate(value)]

    def finish(self) -> None:
        """Fail on the first key of this table that no getter took."""
        for name in self.data:
            if name not in self._used:
                known = ", ".join(sorted(self._used)) or "none"
                raise self.error(name, f"unknown key (this table takes: {known})")


def check_number(value: Any, source: str, path: str, *, minimum: float | None = None,
                 above: float | None = None, maximum: float | None = None) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise fail(source, path, f"must be a finite number, got {show(value)}")
    if above is not None and not value > above:
        raise fail(source, path, f"must be > {above:g}, got {show(value)}")
    if minimum is not None and value < minimum:
        raise fail(source, path, f"must be >= {minimum:g}, got {show(value)}")
    if maximum is not None and value > maximum:
        raise fail(source, path, f"must be <= {maximum:g}, got {show(value)}")
    return float(value)
