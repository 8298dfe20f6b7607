"""Alarm rules and their evaluation as data arrives: raise and clear per device.

Rules live in ``alarm_rules`` (managed through the NBI's /alarm-rules); kinds:

* ``threshold``: ``parameter`` ``op`` ``value`` (``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``) raises;
  the alarm clears when the condition no longer holds, or, with ``clearValue``, only once the
  value is on the other side of ``clearValue`` (hysteresis: a value hovering at the limit does
  not flap);
* ``rate``: the change per second between two consecutive samples of ``parameter`` compared with
  ``op`` ``value`` (error counters climbing, a counter that stopped);
* ``missing-informs``: the device has not informed for ``missingS`` seconds; cleared by its next
  Inform.

``parameter`` may use ``*`` for any instance number (``Device.WiFi.Radio.*.Stats.ErrorsSent``);
``model`` limits a rule to one product class. The evaluator is pure: it returns the changes of
state (``Transition``) for the writer to store and publish.
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .buckets import model_of

log = logging.getLogger(__name__)

KINDS = ("threshold", "rate", "missing-informs")
OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}
_RELEASE = {">": operator.le, ">=": operator.lt, "<": operator.ge, "<=": operator.gt}  # the far side of clearValue


def _pattern(parameter: str) -> re.Pattern[str]:
    return re.compile("^" + ".".join(r"\d+" if seg == "*" else re.escape(seg) for seg in parameter.split(".")) + "$")


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: str
    parameter: str = ""
    op: str = ">"
    value: float = 0.0
    clear_value: float | None = None
    missing_s: float = 0.0
    severity: str = "major"
    model: str = ""
    matcher: re.Pattern[str] | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Rule":
        """A stored rule; ValueError naming what is wrong (the NBI checks the same before storing)."""
        kind = doc.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        parameter = str(doc.get("parameter") or "")
        op = str(doc.get("op") or ">")
        if kind != "missing-informs":
            if not parameter:
                raise ValueError("parameter is required")
            if op not in OPS:
                raise ValueError(f"op must be one of {' '.join(OPS)}")
        value = doc.get("value", 0)
        clear = doc.get("clearValue")
        missing = doc.get("missingS", 0)
        for label, v in (("value", value), ("clearValue", clear), ("missingS", missing)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ValueError(f"{label} must be a number")
        if kind == "missing-informs" and not missing > 0:
            raise ValueError("missingS must be a positive number of seconds")
        return cls(name=str(doc["_id"]), kind=kind, parameter=parameter, op=op, value=float(value or 0),
                   clear_value=None if clear is None else float(clear), missing_s=float(missing or 0),
                   severity=str(doc.get("severity") or "major"), model=str(doc.get("model") or ""),
                   matcher=_pattern(parameter) if parameter else None)

    def applies(self, device: str, parameter: str) -> bool:
        return (self.matcher is not None and self.matcher.match(parameter) is not None
                and (not self.model or model_of(device) == self.model))

    def raises(self, x: float) -> bool:
        return OPS[self.op](x, self.value)

    def clears(self, x: float) -> bool:
        if self.clear_value is not None and self.op in _RELEASE:
            return _RELEASE[self.op](x, self.clear_value)
        return not self.raises(x)


@dataclass(slots=True)
class Transition:
    """An alarm changing state: what the writer stores in ``alarms`` and publishes."""

    device: str
    rule: Rule
    state: str  # "raised" | "cleared"
    t: float
    parameter: str = ""
    value: Any = None
    message: str = ""

    @property
    def alarm_id(self) -> str:
        return f"{self.device}:{self.rule.name}"


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    return float(v) if isinstance(v, (int, float)) else None


class Evaluator:
    """Holds the rules, the alarms raised (by id) and, for rate rules, each series' last sample."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.active: dict[str, str] = {}  # alarm id -> parameter it was raised for
        self.last: dict[tuple[str, str], tuple[float, float]] = {}

    def set_rules(self, docs: Iterable[dict[str, Any]]) -> None:
        rules = []
        for d in docs:
            if d.get("enabled", True) is False:
                continue
            try:
                rules.append(Rule.from_doc(d))
            except (ValueError, KeyError) as e:
                log.warning("alarm rule %r skipped: %s", d.get("_id"), e)
        self.rules = rules

    def sample_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.kind != "missing-informs"]

    def on_samples(self, device: str, rows: Iterable[tuple[str, float, Any]]) -> list[Transition]:
        """Samples (parameter, unix time, value) of one device, in time order."""
        out: list[Transition] = []
        rules = self.sample_rules()
        if not rules:
            return out
        for name, t, value in rows:
            x = _number(value)
            if x is None:
                continue
            for rule in rules:
                if not rule.applies(device, name):
                    continue
                if rule.kind == "rate":
                    key = (device, name)
                    prev = self.last.get(key)
                    self.last[key] = (t, x)
                    if prev is None or t <= prev[0]:
                        continue
                    x_eval = (x - prev[1]) / (t - prev[0])
                    what = f"{name} changes by {x_eval:.3g}/s ({rule.op} {rule.value:g}/s)"
                else:
                    x_eval = x
                    what = f"{name} = {value} ({rule.op} {rule.value:g})"
                out.extend(self._judge(device, rule, t, name, value, rule.raises(x_eval), rule.clears(x_eval), what))
        return out

    def _judge(self, device: str, rule: Rule, t: float, name: str, value: Any, raise_: bool, clear: bool,
               what: str) -> list[Transition]:
        aid = f"{device}:{rule.name}"
        if aid not in self.active:
            if raise_:
                self.active[aid] = name
                return [Transition(device, rule, "raised", t, name, value, what)]
        elif self.active[aid] == name and clear:
            del self.active[aid]
            return [Transition(device, rule, "cleared", t, name, value, what)]
        return []

    def missing_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.kind == "missing-informs"]

    def on_silent(self, device: str, last_inform: float, now: float) -> list[Transition]:
        """A device whose last Inform was at ``last_inform``: raise what its silence breaks."""
        out = []
        for rule in self.missing_rules():
            if (not rule.model or model_of(device) == rule.model) and now - last_inform >= rule.missing_s:
                out += self._judge(device, rule, now, "", None, True, False,
                                   f"no Inform for {now - last_inform:.0f} s (limit {rule.missing_s:g} s)")
        return out

    def on_inform(self, device: str, t: float) -> list[Transition]:
        """The device informed: its missing-informs alarms clear."""
        out = []
        for rule in self.missing_rules():
            aid = f"{device}:{rule.name}"
            if aid in self.active:
                out += self._judge(device, rule, t, "", None, False, True, "informed again")
        return out
