"""Virtual parameter scripts, GenieACS's ``/virtual_parameters``: PUT the raw JavaScript (which
returns ``{writable, value: [value, type]}``), GET it back, DELETE. Stored in
``virtualParameters`` as ``{"_id": <name>, "script": <text>}``; the name is the parameter's
``VirtualParameters.<name>``, so it must be a valid path segment."""

from __future__ import annotations

import re

from acs_contracts.mongo_collections import VIRTUAL_PARAMETERS

from .provisions import scripts_router

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")

router = scripts_router(VIRTUAL_PARAMETERS, "virtual_parameters", "virtual parameter", _NAME)
