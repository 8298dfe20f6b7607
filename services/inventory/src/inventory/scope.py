"""Scope enforcement: what a scoped principal (a tenant's user, a user limited to a device query)
may name and list. An object out of scope answers 404, as one that does not exist, so its
existence does not leak; lists only ever hold what is in scope.

Routes naming one object are checked here, from the route's path parameters, before the route
runs (``auth.require`` calls ``check_path``), so a new route with ``{device_id}`` is scoped
without code of its own. Lists AND ``devices()``, ``device_ids()`` or ``owned()`` into their
queries; writes of tenant-owned documents stamp ``_tenant`` with ``stamp()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId
from fastapi import Request

from acs_contracts import mongo_collections as mc

from . import last_informs
from .accounts import USERS
from .errors import ApiError, not_found
from .principal import Principal, and_

# Path prefix of routes naming a tenant-owned document by {name}/{cid} -> its collection.
OWNED = {"/presets/": mc.PRESETS, "/campaigns/": mc.CAMPAIGNS, "/users/": USERS}
# Fleet-wide settings and code (scripts run on every device that a preset or a virtual parameter
# reaches): read by all, changed by unscoped admins only.
GLOBAL_CONFIG = ("/alarm-rules/", "/provisions/", "/virtual_parameters/", "/credentials/")


def principal(request: Request) -> Principal:
    from .auth import principal_of
    return principal_of(request)


async def device_filter(rt: Any, p: Principal) -> dict[str, Any]:
    return await last_informs.resolve(rt.db.last_informs, p.device_filter()) if p.scoped else {}


async def devices(request: Request) -> dict[str, Any]:
    """The filter to AND into a device query: {} for an unscoped caller."""
    return await device_filter(request.app.state.rt, principal(request))


async def device_ids(request: Request, field: str = "device") -> dict[str, Any]:
    """The filter to AND into a query over documents naming a device (tasks, faults, alarms,
    history): their ``field`` among the devices in scope; {} for an unscoped caller."""
    p = principal(request)
    if not p.scoped:
        return {}
    rt = request.app.state.rt
    ids = [d["_id"] for d in await rt.db.devices.find(await device_filter(rt, p), {"_id": 1}).to_list(None)]
    return {field: {"$in": ids}}


def owned(request: Request, field: str = "_tenant") -> dict[str, Any]:
    return principal(request).owned(field)


def stamp(request: Request, doc: dict[str, Any], field: str = "_tenant") -> dict[str, Any]:
    """``doc`` owned by the caller's tenant (unchanged for a caller without one)."""
    p = principal(request)
    if p.tenant is not None:
        doc[field] = p.tenant
    return doc


async def device_in_scope(rt: Any, p: Principal, device_id: str) -> bool:
    flt = and_({"_id": device_id}, await device_filter(rt, p))
    return await rt.db.devices.find_one(flt, {"_id": 1}) is not None


async def check_path(request: Request, p: Principal) -> None:
    """404 when a path parameter names an object outside ``p``'s scope."""
    rt = request.app.state.rt
    params = request.path_params
    path = request.url.path
    route = request.scope.get("route")
    template = str(getattr(route, "path", path))
    if "device_id" in params and not await device_in_scope(rt, p, params["device_id"]):
        raise not_found(f"no device {params['device_id']!r}")
    for param, (kind, device_of) in DEVICE_OWNED.items():
        if param in params:
            device = await device_of(rt, params[param])
            if device is not None and not await device_in_scope(rt, p, device):
                raise not_found(f"no {kind} {params[param]!r}")
    if template.startswith(GLOBAL_CONFIG) and request.method not in ("GET", "HEAD"):
        raise ApiError(403, "forbidden", "fleet-wide settings are changed by an unscoped admin")
    name = params.get("name", params.get("cid"))
    if name is None:
        return
    if template.startswith("/files/"):
        await _check_file(rt, p, name)
    else:
        await _check_owned(rt, p, template, name)


async def _task_device(rt: Any, task_id: str) -> str | None:
    if not ObjectId.is_valid(task_id):
        return None
    task = await rt.db.tasks.find_one({"_id": ObjectId(task_id)}, {"device": 1})
    return task.get("device", "") if task is not None else None


async def _fault_device(rt: Any, fault_id: str) -> str | None:
    fault = await rt.db.faults.find_one({"_id": fault_id}, {"device": 1})
    return fault.get("device", "") if fault is not None else None


async def _alarm_device(rt: Any, alarm_id: str) -> str | None:
    alarm = await rt.db.db[mc.ALARMS].find_one({"_id": alarm_id}, {"device": 1})
    return alarm.get("device", "") if alarm is not None else None


# Path parameters naming a document about one device -> (what it is called, the device it names;
# None when there is no such document: the route answers its own 404)
DEVICE_OWNED: dict[str, tuple[str, Callable[[Any, str], Awaitable[str | None]]]] = {
    "task_id": ("task", _task_device), "fault_id": ("fault", _fault_device), "alarm_id": ("alarm", _alarm_device)}


async def _check_file(rt: Any, p: Principal, name: str) -> None:
    doc = await rt.db.fs_files.find_one({"filename": name}, {"metadata": 1})
    if doc is not None and (doc.get("metadata") or {}).get("_tenant") != p.tenant:
        raise not_found(f"no file {name!r}")


async def _check_owned(rt: Any, p: Principal, template: str, name: str) -> None:
    """A tenant-owned document (``OWNED``) of another tenant answers 404."""
    for prefix, collection in OWNED.items():
        if template.startswith(prefix):
            doc = await rt.db.db[collection].find_one({"_id": name}, {"_tenant": 1, "tenant": 1})
            owner = doc.get("tenant" if collection == USERS else "_tenant") if doc is not None else None
            if doc is not None and owner != p.tenant:
                raise not_found(f"no {prefix.strip('/').rstrip('s')} {name!r}")
            return


def file_meta(request: Request) -> Callable[[str], Awaitable[Any]]:
    """``rt.file_meta`` that knows only the caller's files (a task or campaign naming another
    tenant's file is told there is no such file)."""
    rt = request.app.state.rt
    tenant = principal(request).tenant

    async def meta(name: str) -> Any:
        doc = await rt.file_meta(name)
        if doc is not None and tenant is not None and (doc.get("metadata") or {}).get("_tenant") != tenant:
            return None
        return doc

    return meta
