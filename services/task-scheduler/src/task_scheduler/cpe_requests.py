"""The ACS's answers to the CPE's own requests in a session (GetRPCMethods, TransferComplete,
DUStateChangeComplete, Kicked...): a completion ends the task, or the script's Download, whose
CommandKey it carries."""

from __future__ import annotations

import asyncio

from cwmp import messages as m

from .device_record import jsonable
from .provisioning.engine import PROVISIONING_KEY_PREFIX
from .provisioning_step import ProvisioningStep
from .session_state import DeviceSession
from .task_queue import TaskQueue

ACS_METHODS = ["Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete",
               "DUStateChangeComplete", "AutonomousDUStateChangeComplete", "RequestDownload", "Kicked"]


class CpeRequests:
    """Answers a CPE request and says what it wrote."""

    def __init__(self, tasks: TaskQueue, provisioning: ProvisioningStep) -> None:
        self.tasks = tasks
        self.provisioning = provisioning

    async def answer(self, s: DeviceSession, msg: m.Message) -> tuple[m.Message, list[asyncio.Future]]:
        if isinstance(msg, m.GetRPCMethods):
            return m.GetRPCMethodsResponse(method_list=list(ACS_METHODS)), []
        if isinstance(msg, m.TransferComplete) and msg.command_key.startswith(PROVISIONING_KEY_PREFIX):
            return m.TransferCompleteResponse(), await self.provisioning.scripted_download_done(s, msg)
        if isinstance(msg, m.TransferComplete):
            return m.TransferCompleteResponse(), await self.tasks.transfer_done(
                s, msg.command_key, msg.fault, {"startTime": jsonable(msg.start_time), "completeTime": jsonable(msg.complete_time)})
        if isinstance(msg, m.DUStateChangeComplete):
            first_fault = next((r.fault for r in msg.results if r.fault.fault_code), m.FaultStruct())
            result = {"results": [{"uuid": r.uuid, "version": r.version, "currentState": r.current_state,
                                   "faultCode": r.fault.fault_code} for r in msg.results]}
            return m.DUStateChangeCompleteResponse(), await self.tasks.transfer_done(s, msg.command_key, first_fault, result)
        return _acknowledged(msg), []


def _acknowledged(msg: m.Message) -> m.Message:
    """The plain answer to a request the ACS only acknowledges, or a Fault for one it does not support."""
    if isinstance(msg, m.AutonomousTransferComplete):
        return m.AutonomousTransferCompleteResponse()
    if isinstance(msg, m.AutonomousDUStateChangeComplete):
        return m.AutonomousDUStateChangeCompleteResponse()
    if isinstance(msg, m.RequestDownload):
        return m.RequestDownloadResponse()
    if isinstance(msg, m.Kicked):
        return m.KickedResponse(next_url=msg.next)
    return m.Fault(fault_code=8000, fault_string=f"{msg.RPC} not supported", faultcode="Client")
