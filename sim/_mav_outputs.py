"""Implement outputs of the simulated autopilot: servo, relay and sprayer states, and the sections they open.

An implement says how an autopilot switches it (:class:`~agrifleet.core.implement.Actuation`): a master
output (pump relay, shutter servo, ArduPilot's sprayer) and optionally one output per section. The
autopilot keeps the state of every output that ``DO_SET_SERVO`` / ``DO_SET_RELAY`` / ``DO_SPRAYER`` set,
from a mission item or a command, and derives the section bitmask the vehicle model applies: nothing while
the master is off; with the master on, the sections whose outputs are on (all of them when the implement
has no per-section outputs).
"""
from __future__ import annotations

from agrifleet.core.implement import Actuation, ActuationKind, Implement

from ._mav_proto import MavCmd

__all__ = ["Outputs"]

N_SERVOS = 16


class Outputs:
    """Output states and the implement mapping. ``sections`` is the bitmask to apply now."""

    def __init__(self, master: Actuation, section: Actuation | None = None, n_sections: int = 1,
                 all_mask: int | None = None) -> None:
        self.master = master
        self.section = section if section else None
        self.n_sections = n_sections
        self.all_mask = all_mask if all_mask is not None else (1 << n_sections) - 1
        self.servo_pwm = [0] * N_SERVOS
        self.relays: dict[int, bool] = {}
        self.sprayer = False
        self.camera_trigger_m = 0.0
        for act in self._actuations():
            if act.kind is ActuationKind.SERVO and act.channel <= N_SERVOS:
                self.servo_pwm[act.channel - 1] = act.pwm_off_us

    @classmethod
    def for_implement(cls, implement: Implement | None, air: bool) -> "Outputs":
        """Outputs for an implement; without one, ArduPilot's sprayer on drones and relay 0 (a pump) on
        ground vehicles switch every section."""
        if implement is None:
            master = Actuation(ActuationKind.SPRAYER) if air else Actuation(ActuationKind.RELAY, 0)
            return cls(master, None, 1, all_mask=0xFFFFFFFF)
        return cls(implement.actuation, implement.section_actuation, implement.n_sections,
                   implement.all_on_mask)

    def _actuations(self) -> list[Actuation]:
        out = [self.master] if self.master else []
        if self.section is not None:
            out += [self.section.shifted(i) for i in range(self.n_sections)]
        return out

    def apply(self, command: int, p1: float, p2: float) -> bool:
        """Carry out DO_SET_SERVO / DO_SET_RELAY / DO_SPRAYER / DO_SET_CAM_TRIGG_DIST; False if refused."""
        if command == MavCmd.DO_SET_SERVO:
            ch, pwm = int(p1), int(p2)
            if not 1 <= ch <= N_SERVOS or not 0 <= pwm <= 3000:
                return False
            self.servo_pwm[ch - 1] = pwm
            return True
        if command == MavCmd.DO_SET_RELAY:
            inst = int(p1)
            if not 0 <= inst <= 255:
                return False
            self.relays[inst] = p2 >= 0.5
            return True
        if command == MavCmd.DO_SPRAYER:
            self.sprayer = p1 >= 0.5
            return True
        if command == MavCmd.DO_SET_CAM_TRIGG_DIST:
            self.camera_trigger_m = max(p1, 0.0)
            return True
        return False

    def all_off(self) -> None:
        """Switch the implement off (failsafe, abort): master and sections."""
        for act in self._actuations():
            self._set(act, False)

    def _set(self, act: Actuation, on: bool) -> None:
        if act.kind is ActuationKind.SERVO and act.channel <= N_SERVOS:
            self.servo_pwm[act.channel - 1] = act.pwm_on_us if on else act.pwm_off_us
        elif act.kind is ActuationKind.RELAY:
            self.relays[act.channel] = on
        elif act.kind is ActuationKind.SPRAYER:
            self.sprayer = on
        elif act.kind is ActuationKind.CAMERA:
            self.camera_trigger_m = act.trigger_distance_m if on else 0.0

    def is_on(self, act: Actuation) -> bool:
        if act.kind is ActuationKind.SERVO:
            if act.channel > N_SERVOS:
                return False
            pwm = self.servo_pwm[act.channel - 1]
            # "on" is whichever end of the travel the output is nearer to
            return pwm > 0 and abs(pwm - act.pwm_on_us) < abs(pwm - act.pwm_off_us)
        if act.kind is ActuationKind.RELAY:
            return self.relays.get(act.channel, False)
        if act.kind is ActuationKind.SPRAYER:
            return self.sprayer
        if act.kind is ActuationKind.CAMERA:
            return self.camera_trigger_m > 0
        return act.kind is ActuationKind.NONE

    @property
    def sections(self) -> int:
        if self.master and not self.is_on(self.master):
            return 0
        if self.section is None:
            return self.all_mask
        mask = 0
        for i in range(self.n_sections):
            if self.is_on(self.section.shifted(i)):
                mask |= 1 << i
        return mask
