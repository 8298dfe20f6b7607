"""``ext(script, fn, ...args)``: GenieACS's extensions, Node.js modules in a configured folder.

As in GenieACS, ``<folder>/<script>.js`` exports ``fn(args, callback)`` and answers through
``callback(err, result)``. Extensions are trusted code (that is their point: reach a database,
an API...), so they run in Node.js, not in the sandbox, one process per call with a time limit;
the runner keeps each answer for the rest of the device's session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")

# Loads the module, calls the function with the arguments (strings, as GenieACS passes them) and
# prints {"value"} or {"error"} on one line of stdout.
_HARNESS = r"""
const [file, fn, json] = process.argv.slice(1);
const done = (err, value) => {
  process.stdout.write(JSON.stringify(err ? { error: String(err && err.message || err) } : { value: value === undefined ? null : value }) + "\n");
  process.exit(0);
};
try {
  const mod = require(file);
  if (typeof mod[fn] !== "function") done(new Error(`extension has no function ${fn}`));
  else mod[fn](JSON.parse(json), done);
} catch (e) { done(e); }
"""


class ExtensionError(RuntimeError):
    """An extension that is missing, failed, overran or answered nonsense."""


class Extensions:
    def __init__(self, folder: str | Path, timeout_s: float = 3.0, node: str | None = None) -> None:
        self.folder = Path(folder).resolve()
        self.timeout_s = timeout_s
        self.node = node or shutil.which("node") or shutil.which("nodejs")

    def call(self, script: str, fn: str, args: list[Any]) -> Any:
        """Run ``fn`` of ``<folder>/<script>.js`` with ``args`` (as strings); its result."""
        if not _NAME.match(script) or ".." in script:
            raise ExtensionError(f"invalid extension name {script!r}")
        file = self.folder / f"{script}.js"
        if not file.is_file():
            raise ExtensionError(f"no extension {script!r} in {self.folder}")
        if self.node is None:
            raise ExtensionError("extensions need Node.js (node is not on PATH)")
        argv = [a if isinstance(a, str) else orjson.dumps(a).decode() for a in args]
        try:
            proc = subprocess.run([self.node, "-e", _HARNESS, str(file), fn, orjson.dumps(argv).decode()],
                                  capture_output=True, timeout=self.timeout_s, cwd=self.folder,
                                  env={**os.environ, "NODE_PATH": str(self.folder)})  # trusted: the scheduler's environment
        except subprocess.TimeoutExpired:
            raise ExtensionError(f"extension {script}.{fn} ran longer than {self.timeout_s} s") from None
        lines = proc.stdout.decode(errors="replace").strip().splitlines()
        if proc.returncode != 0 or not lines:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise ExtensionError(f"extension {script}.{fn} failed: {err[-1] if err else f'exit {proc.returncode}'}")
        try:
            answer = orjson.loads(lines[-1])
        except orjson.JSONDecodeError:
            raise ExtensionError(f"extension {script}.{fn} answered something that is not JSON") from None
        if "error" in answer:
            raise ExtensionError(f"extension {script}.{fn}: {answer['error']}")
        return answer.get("value")
