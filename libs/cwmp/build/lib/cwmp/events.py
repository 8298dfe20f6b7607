"""Inform EventCodes (TR-069 Table 7), as a str-valued type that keeps unknown codes.

Standard codes are class attributes; vendor codes (``"X 00D09E MyEvent"``) and any code a
newer CPE may send are kept verbatim, so nothing a CPE reports is lost.
"""

from __future__ import annotations


class EventCode(str):
    """An Inform EventCode. Compares equal to its wire string."""

    __slots__ = ()

    BOOTSTRAP: "EventCode"
    BOOT: "EventCode"
    PERIODIC: "EventCode"
    SCHEDULED: "EventCode"
    VALUE_CHANGE: "EventCode"
    KICKED: "EventCode"
    CONNECTION_REQUEST: "EventCode"
    TRANSFER_COMPLETE: "EventCode"
    DIAGNOSTICS_COMPLETE: "EventCode"
    REQUEST_DOWNLOAD: "EventCode"
    AUTONOMOUS_TRANSFER_COMPLETE: "EventCode"
    DU_STATE_CHANGE_COMPLETE: "EventCode"
    AUTONOMOUS_DU_STATE_CHANGE_COMPLETE: "EventCode"
    WAKEUP: "EventCode"
    M_REBOOT: "EventCode"
    M_SCHEDULE_INFORM: "EventCode"
    M_DOWNLOAD: "EventCode"
    M_SCHEDULE_DOWNLOAD: "EventCode"
    M_UPLOAD: "EventCode"
    M_CHANGE_DU_STATE: "EventCode"

    def __new__(cls, code: str) -> "EventCode":
        return super().__new__(cls, " ".join(code.split()))  # normalise odd spacing

    @property
    def is_standard(self) -> bool:
        return str(self) in STANDARD_EVENT_CODES

    @property
    def is_vendor(self) -> bool:
        return self.startswith("X ")

    @property
    def is_method(self) -> bool:
        """An "M <method>" event: the result of an ACS-requested method."""
        return self.startswith("M ")

    @property
    def is_single(self) -> bool:
        """Single events may appear once; cumulative ones (4 VALUE CHANGE...) are merged."""
        return self not in _CUMULATIVE


_STANDARD = {
    "BOOTSTRAP": "0 BOOTSTRAP",
    "BOOT": "1 BOOT",
    "PERIODIC": "2 PERIODIC",
    "SCHEDULED": "3 SCHEDULED",
    "VALUE_CHANGE": "4 VALUE CHANGE",
    "KICKED": "5 KICKED",
    "CONNECTION_REQUEST": "6 CONNECTION REQUEST",
    "TRANSFER_COMPLETE": "7 TRANSFER COMPLETE",
    "DIAGNOSTICS_COMPLETE": "8 DIAGNOSTICS COMPLETE",
    "REQUEST_DOWNLOAD": "9 REQUEST DOWNLOAD",
    "AUTONOMOUS_TRANSFER_COMPLETE": "10 AUTONOMOUS TRANSFER COMPLETE",
    "DU_STATE_CHANGE_COMPLETE": "11 DU STATE CHANGE COMPLETE",
    "AUTONOMOUS_DU_STATE_CHANGE_COMPLETE": "12 AUTONOMOUS DU STATE CHANGE COMPLETE",
    "WAKEUP": "13 WAKEUP",
    "M_REBOOT": "M Reboot",
    "M_SCHEDULE_INFORM": "M ScheduleInform",
    "M_DOWNLOAD": "M Download",
    "M_SCHEDULE_DOWNLOAD": "M ScheduleDownload",
    "M_UPLOAD": "M Upload",
    "M_CHANGE_DU_STATE": "M ChangeDUState",
}
for _attr, _code in _STANDARD.items():
    setattr(EventCode, _attr, EventCode(_code))

STANDARD_EVENT_CODES: frozenset[str] = frozenset(_STANDARD.values())
_CUMULATIVE = frozenset({"4 VALUE CHANGE", "10 AUTONOMOUS TRANSFER COMPLETE", "12 AUTONOMOUS DU STATE CHANGE COMPLETE"})
