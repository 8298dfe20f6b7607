"""ext(): GenieACS extension modules run by Node.js, with a time limit and a per-session cache."""

from __future__ import annotations

import shutil

import pytest
from provision_scripts import Extensions, ScriptError, ScriptRunner

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="extensions run in Node.js, which is not installed")

NOW = 1_700_000_000_000


class Nothing:
    def satisfied(self, declarations, clears) -> bool:
        return True

    def get(self, path):
        return []

    def virtual_source(self, name):
        return None

    def preloaded(self):
        return {}


@pytest.fixture
def ext_dir(tmp_path):
    (tmp_path / "counter.js").write_text("""
const fs = require("fs");
const path = require("path");
exports.next = function (args, callback) {
  const file = path.join(__dirname, "count.txt");
  const n = (fs.existsSync(file) ? parseInt(fs.readFileSync(file, "utf8"), 10) : 0) + 1;
  fs.writeFileSync(file, String(n));
  callback(null, {n: n, args: args});
};
exports.fail = function (args, callback) { callback(new Error("no such subscriber " + args[0])); };
exports.slow = function (args, callback) { setTimeout(() => callback(null, 1), 60000); };
""")
    return tmp_path


def test_ext_calls_the_module_and_caches_per_session(ext_dir):
    runner = ScriptRunner("d", NOW, extensions=Extensions(ext_dir, timeout_s=20))
    src = "const a = ext('counter', 'next', 'x', 5); const b = ext('counter', 'next', 'x', 5); return [a, b];"
    out = runner.run("s", src, [], Nothing())
    assert out.result == [{"n": 1, "args": ["x", "5"]}] * 2  # GenieACS passes arguments as strings
    assert runner.run("s", src, [], Nothing()).result[0]["n"] == 1  # replayed: still the session's answer
    other = ScriptRunner("d", NOW, extensions=Extensions(ext_dir, timeout_s=20))
    assert other.run("s", src, [], Nothing()).result[0]["n"] == 2  # a new session calls again


def test_ext_errors_and_timeouts_are_thrown_into_the_script(ext_dir):
    runner = ScriptRunner("d", NOW, extensions=Extensions(ext_dir, timeout_s=2))
    assert runner.run("s", "try { ext('counter', 'fail', 'bob') } catch (e) { return e.message }", [], Nothing()).result \
        == "extension counter.fail: no such subscriber bob"
    with pytest.raises(ScriptError) as e:
        runner.run("s", "ext('counter', 'slow')", [], Nothing())
    assert e.value.code == "script.Error" and "longer than 2" in e.value.message
    with pytest.raises(ScriptError) as e:
        runner.run("s", "ext('../etc/passwd', 'x')", [], Nothing())
    assert "invalid extension name" in e.value.message


def test_without_an_extension_folder_ext_is_an_error():
    with pytest.raises(ScriptError) as e:
        ScriptRunner("d", NOW).run("s", "ext('a', 'b')", [], Nothing())
    assert "no extensions are configured" in e.value.message
