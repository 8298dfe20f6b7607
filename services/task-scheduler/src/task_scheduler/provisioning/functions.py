"""Provision functions: trusted Python for what a declaration cannot express (the place of
GenieACS's provision scripts and extensions), loaded from SCHEDULER_PROVISIONS_DIR.

Each ``<name>.py`` there defines ``provision(device, args) -> list[dict] | None``: it reads the
device through a :class:`DeviceView` and returns declarations in the preset shape. A preset runs it
with a configuration ``{"type": "provision", "name": "<name>", "args": [...]}``. A file may also
define ``VIRTUAL_PARAMETERS = {"Name": ["source.path", ...]}``. Every call has a time limit; a
function that raises or overruns faults the device's preset channel and nothing else.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device_query import paths

from .virtual import VirtualParameter

log = logging.getLogger(__name__)


class ProvisionFunctionError(RuntimeError):
    """A provision function that failed: missing, raised, overran or returned nonsense."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Overrun(BaseException):
    """Raised inside an overrunning function by the alarm (BaseException: user code's
    ``except Exception`` does not swallow it)."""


class DeviceView:
    """What a provision function may read; it cannot write the document."""

    def __init__(self, device_id: str, doc: dict, event_codes: list[str]) -> None:
        self.id = device_id
        self._doc = doc
        self.event_codes = list(event_codes)
        self.tags = list(doc.get("_tags") or [])
        self.device_id = dict(doc.get("_deviceId") or {})

    def get(self, path: str) -> Any:
        """A parameter's value (None when unknown)."""
        node = paths.node_at(self._doc, path)
        return node.get("_value") if isinstance(node, dict) else None

    def values(self, pattern: str) -> dict[str, Any]:
        """Every known value a pattern (wildcards, aliases) names."""
        res = paths.resolve(self._doc, paths.parse(pattern), lambda _p: True)
        out = {}
        for p in res.paths:
            node = paths.node_at(self._doc, p)
            if isinstance(node, dict) and "_value" in node:
                out[p] = node["_value"]
        return out

    def instances(self, pattern: str) -> list[str]:
        """The known instance paths a pattern such as ``X.Table.*`` names."""
        return paths.resolve(self._doc, paths.parse(pattern), lambda _p: True).paths

    def exists(self, path: str) -> bool:
        return isinstance(paths.node_at(self._doc, path), dict)


def call_with_limit(fn: Callable[..., Any], timeout_s: float, *args: Any) -> Any:
    """Run ``fn`` for at most ``timeout_s``: an interval timer interrupts it on the main thread
    (where the scheduler's event loop runs); elsewhere a worker thread is abandoned on overrun."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        armed = [True]

        def alarm(signum, frame):  # noqa: ARG001
            if armed[0]:
                raise _Overrun()

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            return fn(*args)
        except _Overrun:
            raise ProvisionFunctionError("timeout", f"provision function ran longer than {timeout_s} s") from None
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="provision-fn")
    try:
        return pool.submit(fn, *args).result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        raise ProvisionFunctionError("timeout", f"provision function ran longer than {timeout_s} s") from None
    finally:
        pool.shutdown(wait=False)


class ProvisionFunctions:
    def __init__(self, folder: str | Path | None = None, timeout_s: float = 1.0) -> None:
        self.folder = Path(folder) if folder else None
        self.timeout_s = timeout_s
        self.functions: dict[str, Callable[..., Any]] = {}
        self.virtuals: dict[str, VirtualParameter] = {}

    def register(self, name: str, fn: Callable[..., Any]) -> None:
        self.functions[name] = fn

    def load(self) -> None:
        """Import every ``*.py`` of the folder; a file that fails to import is logged and skipped."""
        if self.folder is None:
            return
        for file in sorted(self.folder.glob("*.py")):
            try:
                spec = importlib.util.spec_from_file_location(f"acs_provisions.{file.stem}", file)
                module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
                spec.loader.exec_module(module)  # type: ignore[union-attr]
            except Exception:
                log.exception("provision file %s does not load; skipped", file)
                continue
            fn = getattr(module, "provision", None)
            if callable(fn):
                self.functions[file.stem] = fn
            for name, sources in (getattr(module, "VIRTUAL_PARAMETERS", None) or {}).items():
                try:
                    self.virtuals[name] = VirtualParameter(name, tuple(sources))
                except (paths.PathError, TypeError) as e:
                    log.error("virtual parameter %s in %s is invalid: %s", name, file, e)
        log.info("loaded %d provision functions, %d virtual parameters from %s",
                 len(self.functions), len(self.virtuals), self.folder)

    def call(self, name: str, view: DeviceView, args: list) -> list[dict]:
        fn = self.functions.get(name)
        if fn is None:
            raise ProvisionFunctionError("unknown_provision", f"no provision function named {name!r}")
        try:
            result = call_with_limit(fn, self.timeout_s, view, list(args))
        except ProvisionFunctionError:
            raise
        except Exception as e:  # the function's own bug: this device's fault, nobody else's
            raise ProvisionFunctionError("provision_error", f"{name}: {type(e).__name__}: {e}") from None
        if result is None:
            return []
        if not isinstance(result, list) or not all(isinstance(d, dict) for d in result):
            raise ProvisionFunctionError("provision_error", f"{name} must return a list of declarations")
        return result
