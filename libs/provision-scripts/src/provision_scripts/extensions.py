"""``ext(script, fn, ...args)``: GenieACS's extensions, Node.js modules in a configured folder.

As in GenieACS, ``<folder>/<script>.js`` exports ``fn(args, callback)`` and answers through
``callback(err, result)``. Extensions are trusted code (that is their point: reach a database,
an API...), so they run in Node.js, not in the sandbox, one process per call with a time limit;
the runner keeps each answer for the rest of the device's session.

A host on an event loop (the scheduler) calls :meth:`Extensions.answer` without blocking it: the
runner stops a script at an ``ext()`` it has no answer for (:class:`ExtensionsNeeded`), the host
awaits the answers and runs the script again from the top, as GenieACS does.
"""

from __future__ import annotations

import asyncio
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


class ExtensionsNeeded(Exception):  # noqa: N818 - a request for answers, not an error
    """A script called ``ext()`` for answers the session does not hold: ``calls`` are
    ``(key, (script, fn, args))``; the host answers them and runs the round again."""

    def __init__(self, calls: list[tuple[str, tuple[str, str, list[Any]]]]) -> None:
        super().__init__(f"{len(calls)} extension call(s) to answer")
        self.calls = calls


class Extensions:
    def __init__(self, folder: str | Path, timeout_s: float = 3.0, node: str | None = None) -> None:
        self.folder = Path(folder).resolve()
        self.timeout_s = timeout_s
        self.node = node or shutil.which("node") or shutil.which("nodejs")

    def _command(self, script: str, fn: str, args: list[Any]) -> list[str]:
        if not _NAME.match(script) or ".." in script:
            raise ExtensionError(f"invalid extension name {script!r}")
        file = self.folder / f"{script}.js"
        if not file.is_file():
            raise ExtensionError(f"no extension {script!r} in {self.folder}")
        if self.node is None:
            raise ExtensionError("extensions need Node.js (node is not on PATH)")
        argv = [a if isinstance(a, str) else orjson.dumps(a).decode() for a in args]
        return [self.node, "-e", _HARNESS, str(file), fn, orjson.dumps(argv).decode()]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "NODE_PATH": str(self.folder)}  # trusted: the scheduler's environment

    def call(self, script: str, fn: str, args: list[Any]) -> Any:
        """Run ``fn`` of ``<folder>/<script>.js`` with ``args`` (as strings); its result."""
        command = self._command(script, fn, args)
        try:
            proc = subprocess.run(command, capture_output=True, timeout=self.timeout_s, cwd=self.folder, env=self._env())
        except subprocess.TimeoutExpired:
            raise ExtensionError(f"extension {script}.{fn} ran longer than {self.timeout_s} s") from None
        return self._result(script, fn, proc.returncode, proc.stdout, proc.stderr)

    async def call_async(self, script: str, fn: str, args: list[Any]) -> Any:
        """:meth:`call` without blocking the event loop (the process is killed past the limit)."""
        command = self._command(script, fn, args)
        proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE, cwd=self.folder, env=self._env())
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), self.timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ExtensionError(f"extension {script}.{fn} ran longer than {self.timeout_s} s") from None
        return self._result(script, fn, proc.returncode or 0, stdout, stderr)

    async def answer(self, calls: list[tuple[str, tuple[str, str, list[Any]]]]) -> dict[str, dict[str, Any]]:
        """The answers to ``ExtensionsNeeded.calls``, run side by side: key -> {"value"} or {"error"}."""

        async def one(script: str, fn: str, args: list[Any]) -> dict[str, Any]:
            try:
                return {"value": await self.call_async(script, fn, args)}
            except ExtensionError as e:
                return {"error": str(e)}

        results = await asyncio.gather(*(one(*call) for _key, call in calls))
        return {key: result for (key, _call), result in zip(calls, results, strict=True)}

    def _result(self, script: str, fn: str, returncode: int, stdout: bytes, stderr: bytes) -> Any:
        lines = stdout.decode(errors="replace").strip().splitlines()
        if returncode != 0 or not lines:
            err = stderr.decode(errors="replace").strip().splitlines()
            raise ExtensionError(f"extension {script}.{fn} failed: {err[-1] if err else f'exit {returncode}'}")
        try:
            answer = orjson.loads(lines[-1])
        except orjson.JSONDecodeError:
            raise ExtensionError(f"extension {script}.{fn} answered something that is not JSON") from None
        if "error" in answer:
            raise ExtensionError(f"extension {script}.{fn}: {answer['error']}")
        return answer.get("value")
