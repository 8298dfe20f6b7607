"""The replay contract: declarations, commits, look-ups, virtual parameters, the session clock."""

from __future__ import annotations

import re

import pytest
from provision_scripts import ScriptDeclaration, ScriptError, ScriptRunner

NOW = 1_700_000_000_000


class Table:
    """A host whose data is a dict of path -> (value, type); declarations are satisfied once
    ``fetched`` (as if the ACS had sent the RPCs); it counts the commits it was asked about."""

    def __init__(self, data: dict[str, tuple], fetched: bool = True, virtuals: dict[str, str] | None = None) -> None:
        self.data = data
        self.fetched = fetched
        self.virtuals = virtuals or {}
        self.commits: list[list[str]] = []

    def satisfied(self, declarations, clears) -> bool:
        self.commits.append([d.path for d in declarations])
        return self.fetched

    def get(self, path):
        pattern = re.compile("^" + re.escape(path).replace(r"\*", "[^.]+") + "$")
        return [{"path": p, "value": list(v)} for p, v in sorted(self.data.items()) if pattern.match(p)]

    def virtual_source(self, name):
        return self.virtuals.get(name)

    def preloaded(self):
        return {}


def test_declarations_are_parsed_into_timestamps_and_values():
    out = ScriptRunner("d", NOW).run("s", """
        declare("A.B", {value: Date.now()}, {value: ["x", "xsd:string"]});
        declare("A.T.*", {path: 5}, {path: [1, 3]});
        declare("A.C", null, {value: 7});
        declare("A.D", {value: new Date(1000)});
    """, [], Table({}))
    assert out.done
    assert out.declarations == [
        ScriptDeclaration("A.B", {"value": NOW}, {"value": ("x", "xsd:string")}),
        ScriptDeclaration("A.T.*", {"path": 5}, {"path": (1, 3)}),
        ScriptDeclaration("A.C", {}, {"value": (7, None)}),
        ScriptDeclaration("A.D", {"value": 1000}, {}),
    ]


def test_reading_a_value_commits_and_stops_until_the_acs_has_it():
    src = """
        const v = declare("A.B", {value: Date.now()}).value[0];
        declare("A.C", null, {value: v + "!"});
    """
    host = Table({"A.B": ("hello", "xsd:string")}, fetched=False)
    out = ScriptRunner("d", NOW).run("s", src, [], host)
    assert not out.done and [d.path for d in out.declarations] == ["A.B"]  # stopped at the read
    host.fetched = True
    out = ScriptRunner("d", NOW).run("s", src, [], host)
    assert out.done and out.declarations[-1] == ScriptDeclaration("A.C", {}, {"value": ("hello!", None)})


def test_an_explicit_commit_and_iteration_over_instances():
    host = Table({"T.1.Name": ("a", "xsd:string"), "T.2.Name": ("b", "xsd:string")})
    out = ScriptRunner("d", NOW).run("s", """
        declare("X.Y", null, {value: 1});
        commit();
        const names = [];
        for (const p of declare("T.*.Name", {value: 1})) names.push(p.path + "=" + p.value[0]);
        return names;
    """, [], host)
    assert out.result == ["T.1.Name=a", "T.2.Name=b"]
    assert host.commits[0] == ["X.Y"]


def test_date_now_is_fixed_and_intervals_are_spread_per_device():
    a = ScriptRunner("dev-a", NOW).run("s", "return [Date.now(), Date.now(), Date.now(3600000)]", [], Table({})).result
    b = ScriptRunner("dev-b", NOW).run("s", "return Date.now(3600000)", [], Table({})).result
    assert a[0] == a[1] == NOW
    assert NOW - 3600000 < a[2] <= NOW and NOW - 3600000 < b <= NOW
    assert a[2] != b  # two devices, two offsets (fixed by their ids)


def test_math_random_is_the_same_for_a_device_every_session():
    src = "return Math.random().toString(36) + Math.random().toString(36)"
    assert ScriptRunner("dev-a", NOW).run("s", src, [], Table({})).result == \
        ScriptRunner("dev-a", NOW + 86_400_000).run("s", src, [], Table({})).result
    assert ScriptRunner("dev-a", NOW).run("s", src, [], Table({})).result != \
        ScriptRunner("dev-b", NOW).run("s", src, [], Table({})).result


def test_args_log_and_clear():
    out = ScriptRunner("d", NOW).run("s", "log('got', args); clear('Device', Date.now()); return args.length", ["a", 2],
                                     Table({}))
    assert out.result == 2 and out.logs == ['got ["a",2]']
    assert [(c.path, c.timestamp) for c in out.clears] == [("Device", NOW)]


def test_a_virtual_parameter_script_runs_inside_the_one_that_declares_it():
    vp = """
        let m = "";
        if (args[1].value) {
          m = args[1].value[0];
          declare("Device.WiFi.SSID.1.SSID", null, {value: m});
        } else {
          const d = declare("Device.WiFi.SSID.1.SSID", {value: Date.now()});
          if (d.size) m = d.value[0];
        }
        return {writable: true, value: [m, "xsd:string"]};
    """
    host = Table({"Device.WiFi.SSID.1.SSID": ("home", "xsd:string")}, virtuals={"SSID": vp})
    runner = ScriptRunner("d", NOW)
    out = runner.run("p", "return declare('VirtualParameters.SSID', {value: Date.now()}).value[0]", [], host)
    assert out.result == "home"
    assert out.declarations == [ScriptDeclaration("Device.WiFi.SSID.1.SSID", {"value": NOW}, {})]  # the VP's, in its place
    out = runner.run("p", "declare('VirtualParameters.SSID', null, {value: 'guest'})", [], host)
    assert out.declarations == [ScriptDeclaration("Device.WiFi.SSID.1.SSID", {}, {"value": ("guest", None)})]
    assert runner.virtual_values["SSID"].value == "guest" and runner.virtual_values["SSID"].writable


def test_a_virtual_parameter_that_returns_nonsense_is_a_type_error():
    host = Table({}, virtuals={"Bad": "return 5"})
    with pytest.raises(ScriptError) as e:
        ScriptRunner("d", NOW).run("p", "declare('VirtualParameters.Bad', {value: 1}).value", [], host)
    assert e.value.code == "script.TypeError"


@pytest.mark.parametrize("src", [
    "declare('A', {age: 1})",
    "declare('A', null, {value: {}})",
    "declare('A', null, {path: 'x'})",
    "declare('A', {value: 'yesterday'})",
    "declare(5)",
])
def test_wrong_declarations_are_type_errors(src):
    with pytest.raises(ScriptError) as e:
        ScriptRunner("d", NOW).run("s", src, [], Table({}))
    assert e.value.code == "script.TypeError"


def test_a_script_that_swallows_the_stop_still_stops():
    host = Table({"A": (1, "xsd:int")}, fetched=False)
    out = ScriptRunner("d", NOW).run("s", "try { declare('A', {value: 1}).value } catch (e) {} return 1", [], host)
    assert not out.done


def test_attribute_declarations_are_accepted():
    out = ScriptRunner("d", NOW).run("s", "declare('A.B', {notification: 1}, {notification: 2, accessList: ['Subscriber']})", [],
                                     Table({}))
    assert out.done and out.declarations[0].timestamps == {}
    assert out.declarations[0].values == {"notification": 2, "accessList": ["Subscriber"]}
