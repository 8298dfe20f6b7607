"""The sandbox: syntax checking, the limits, what scripts can and cannot reach."""

from __future__ import annotations

import time

import pytest
from provision_scripts import Limits, ScriptError, ScriptRunner, ScriptSyntaxError, check_syntax


class Nothing:
    """A device the runner knows nothing of (every declaration satisfied, nothing to read)."""

    def satisfied(self, declarations, clears) -> bool:
        return True

    def get(self, path):
        return []

    def virtual_source(self, name):
        return None

    def preloaded(self):
        return {}


def run(source: str, args=None, limits: Limits = Limits()):
    return ScriptRunner("dev-1", 1_700_000_000_000, limits).run("s", source, args or [], Nothing())


def test_syntax_errors_point_into_the_script():
    with pytest.raises(ScriptSyntaxError) as e:
        check_syntax("const a = 1;\nconst b = ;\n")
    assert (e.value.line, e.value.column) == (2, 11)
    assert e.value.code == "script.SyntaxError" and "line 2" in str(e.value)
    with pytest.raises(ScriptSyntaxError):
        check_syntax(None)  # type: ignore[arg-type]


def test_a_valid_script_is_not_run_by_the_syntax_check():
    check_syntax("while (true) {}")  # would overrun if it ran
    check_syntax("return {writable: false, value: ['x', 'xsd:string']};")  # a top-level return is allowed


def test_an_endless_loop_is_stopped_by_cpu_time():
    started = time.process_time()
    with pytest.raises(ScriptError) as e:
        run("for (;;) {}", limits=Limits(cpu_s=0.1))
    assert e.value.code == "script.Timeout"
    assert time.process_time() - started < 5


def test_memory_is_limited():
    with pytest.raises(ScriptError) as e:
        run("const a = []; for (;;) a.push('x'.repeat(4096) + a.length);", limits=Limits(memory_bytes=8 * 1024 * 1024))
    assert e.value.code == "script.OutOfMemory"


def test_deep_recursion_is_a_range_error():
    with pytest.raises(ScriptError) as e:
        run("function f(n) { return f(n + 1) + 1; } f(0);")
    assert e.value.code == "script.RangeError"


def test_thrown_errors_keep_their_name_message_and_script_line():
    with pytest.raises(ScriptError) as e:
        run("const x = null;\nx.y = 1;")
    assert e.value.code == "script.TypeError"
    assert "<script>:2:" in (e.value.stack or "")
    with pytest.raises(ScriptError) as e:
        run("throw new RangeError('too far');")
    assert (e.value.code, e.value.message) == ("script.RangeError", "too far")


def test_no_file_system_network_or_modules():
    got = run("return [typeof require, typeof process, typeof fetch, typeof XMLHttpRequest, typeof std, typeof os, "
              "typeof __hostCall].join(',')")
    assert got.result == ",".join(["undefined"] * 7)
    # a dynamic import never loads anything: there is no module loader, and pending jobs never run
    assert run("let got = 'nothing'; import('os').then(() => { got = 'os'; }); return got").result == "nothing"


def test_the_context_survives_a_failed_run():
    runner = ScriptRunner("dev-1", 1_700_000_000_000, Limits(cpu_s=0.1))
    with pytest.raises(ScriptError):
        runner.run("bad", "for (;;) {}", [], Nothing())
    assert runner.run("good", "return args[0] + 1", [41], Nothing()).result == 42


def test_a_shared_context_is_replaced_after_a_limit():
    pool: list = []
    runner = ScriptRunner("dev-1", 1_700_000_000_000, Limits(memory_bytes=8 * 1024 * 1024), sandboxes=pool)
    assert runner.run("set", "globalThis.leftover = 'x'.repeat(1000); return 1", [], Nothing()).result == 1
    first = pool[0]
    with pytest.raises(ScriptError):
        runner.run("hog", "globalThis.a = []; for (;;) a.push('x'.repeat(4096) + a.length);", [], Nothing())
    assert pool == []  # dropped: the next session gets a fresh context
    assert runner.run("after", "return typeof leftover", [], Nothing()).result == "undefined"
    assert pool and pool[0] is not first


def test_globals_a_script_leaves_are_gone_at_the_next_run():
    runner = ScriptRunner("dev-1", 1_700_000_000_000)
    assert runner.run("a", "leak = 5; globalThis.other = 6; return leak + other", [], Nothing()).result == 11
    assert runner.run("b", "return [typeof leak, typeof other, typeof declare]", [], Nothing()).result == \
        ["undefined", "undefined", "function"]


def test_a_script_cannot_break_the_api_for_the_next_runs():
    runner = ScriptRunner("dev-1", 1_700_000_000_000)
    runner.run("evil", "try { JSON.stringify = () => '{}'; Date.now = () => 0; Array.prototype.push = null; } catch (e) {}"
               " return 1", [], Nothing())
    out = runner.run("next", "declare('A.B', {value: Date.now()}); return Date.now()", [], Nothing())
    assert out.result == 1_700_000_000_000 and [d.path for d in out.declarations] == ["A.B"]
