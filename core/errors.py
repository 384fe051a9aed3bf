"""One exception tree for agrifleet.

Every error a user or a peer can cause derives from :class:`AgrifleetError` and carries a short ``code``
that travels on the wire (``error`` messages) and ends up in reports. Domain errors also inherit the
builtin they refine (``FieldError`` is a ``ValueError``), so callers that do not know agrifleet can still
catch them sensibly. The command line prints ``str(error)`` as one line and exits with ``exit_code``.
"""
from __future__ import annotations

__all__ = [
    "AgrifleetError",
    "ConfigError",
    "DriverError",
    "CommandRejected",
    "DriverTimeout",
    "ConnectionLost",
    "FieldError",
    "PlanError",
    "PluginError",
    "ProtocolError",
    "ScenarioError",
]


class AgrifleetError(Exception):
    """Base of every agrifleet error."""

    code: str = "error"
    exit_code: int = 1


class FieldError(AgrifleetError, ValueError):
    """A field file or geometry that cannot be planned; the message names file, feature and problem."""

    code = "bad_field"
    exit_code = 2


class PlanError(AgrifleetError, ValueError):
    """Planning parameters that cannot work, or a plan file that cannot be read."""

    code = "bad_plan"
    exit_code = 2


class ConfigError(AgrifleetError, ValueError):
    """A bad command-line option, spec or configuration value."""

    code = "bad_config"
    exit_code = 2


class ScenarioError(AgrifleetError, ValueError):
    """A simulator scenario file that names a missing key or holds a bad value."""

    code = "bad_scenario"
    exit_code = 2


class ProtocolError(AgrifleetError, ValueError):
    """A wire message that does not decode or does not match the schema."""

    code = "bad_message"


class PluginError(AgrifleetError, ImportError):
    """A plugin that does not load or does not fulfil its contract; names the plugin and its package."""

    code = "bad_plugin"
    exit_code = 2


class DriverError(AgrifleetError, RuntimeError):
    """A vehicle driver failed. Carries the failing call and the vehicle's result, when there was one."""

    code = "driver_error"

    def __init__(self, call: str, result: str = "", detail: str = "") -> None:
        self.call = call
        self.result = result
        self.detail = detail
        text = f"{call} -> {result}" if result else call
        super().__init__(f"{text}: {detail}" if detail else text)


class CommandRejected(DriverError):
    """The vehicle answered and said no (``arm() -> DENIED``)."""

    code = "command_rejected"


class DriverTimeout(DriverError, TimeoutError):
    """The vehicle did not answer in time."""

    code = "driver_timeout"


class ConnectionLost(DriverError, ConnectionError):
    """The link to the vehicle is gone."""

    code = "connection_lost"
