"""GenieACS-compatible provision and virtual-parameter scripts, run in a QuickJS sandbox.

``check_syntax`` validates a script (the NBI refuses one that does not compile);
``ScriptRunner`` runs scripts for one device session under the replay contract of
``runtime`` against a host's :class:`Device`.
"""

from .errors import ScriptError, ScriptSyntaxError
from .extensions import ExtensionError, Extensions, ExtensionsNeeded
from .runtime import Device, HostError, ScriptClear, ScriptDeclaration, ScriptOutcome, ScriptRunner, VirtualValue, parse_declaration
from .sandbox import Limits, Sandbox, check_syntax

__all__ = ["Device", "ExtensionError", "Extensions", "ExtensionsNeeded", "HostError", "Limits", "Sandbox", "ScriptClear", "ScriptDeclaration", "ScriptError",
           "ScriptOutcome", "ScriptRunner", "ScriptSyntaxError", "VirtualValue", "check_syntax", "parse_declaration"]
