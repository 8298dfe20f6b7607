"""Garbage-collector settings of the ACS's long-running services.

A scheduler session allocates thousands of small containers (a data model's parameters, their
dicts, the parsed message), nearly all freed by reference counting as soon as the session step
ends. With CPython's default first-generation threshold (700 allocations) the cyclic collector
runs hundreds of times per first-contact session and, now and then, walks every long-lived
object (caches of device digests, open sessions): 12% of the scheduler's CPU on that benchmark.
A higher threshold runs it far less often for the same garbage (``tune``), and freezing what
start-up allocated takes the import-time objects out of every full collection
(``freeze_startup``).

The gateway only freezes: its limit is resident memory with thousands of parked requests, and a
higher threshold lets cyclic garbage wait longer between collections.

``ACS_GC_GEN0_THRESHOLD`` (default 20000; 0 keeps CPython's defaults).
"""

from __future__ import annotations

import gc
import os

DEFAULT_GEN0_THRESHOLD = 20_000


def tune(env: dict[str, str] | None = None) -> None:
    """Raise the first-generation threshold; call once, early in ``main``."""
    e = os.environ if env is None else env
    threshold = int(e.get("ACS_GC_GEN0_THRESHOLD", str(DEFAULT_GEN0_THRESHOLD)))
    if threshold > 0:
        gc.set_threshold(threshold, 20, 50)


def freeze_startup() -> None:
    """Move everything alive now (modules, settings, clients) out of the collector's way; call
    once the service has started."""
    gc.collect()
    gc.freeze()
