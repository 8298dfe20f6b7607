// The script-facing API, evaluated once in every sandbox context. Scripts see GenieACS's names
// (declare, clear, commit, ext, log, args, Date.now) and nothing of the host.
//
// There is no call into Python while a script runs (QuickJS's CPU limit forbids it): a script
// that needs something the host has not given yet (a value, a commit's verdict, an extension's
// answer) stops with `state.need` saying what; the host finds it out and runs the script again
// from the top with the answer supplied. Scripts are deterministic within a session (fixed
// Date.now, seeded Math.random), so each run retraces the last one up to the new answer.
"use strict";
(function () {
  const STOP = Object.freeze({ stop: true });
  const state = {};

  function need(what) {
    state.need = what;
    throw STOP;
  }

  function commit() {
    if (!state.uncommitted) return;
    const index = state.commits++;
    if (state.passed[index] !== true) need({ op: "commit", index });
    state.uncommitted = false;
  }

  function lookUp(path) {
    commit();
    const items = state.answers[path];
    if (items === undefined) need({ op: "get", path });
    return items;
  }

  // What declare() returns: reading it first commits what was declared (GenieACS's replay model).
  class ParameterWrapper {
    constructor(path, items) {
      this._path = path;
      this._items = items;
    }
    _get() {
      if (this._items === null) this._items = lookUp(this._path);
      return this._items;
    }
    _attr(name) {
      const items = this._get();
      return items.length ? items[0][name] : undefined;
    }
    get path() { return this._attr("path"); }
    get value() { return this._attr("value"); }
    get writable() { return this._attr("writable"); }
    get object() { return this._attr("object"); }
    get size() { return this._get().length; }
    *[Symbol.iterator]() {
      for (const item of this._get()) yield new ParameterWrapper(item.path, [item]);
    }
  }

  function plain(x, what) {
    if (x === undefined || x === null) return null;
    if (typeof x !== "object" || Array.isArray(x)) throw new TypeError(what + " must be an object");
    return x;
  }

  globalThis.declare = function declare(path, timestamps, values) {
    if (typeof path !== "string" || !path) throw new TypeError("declare: path must be a non-empty string");
    const d = [path, plain(timestamps, "declare: timestamps"), plain(values, "declare: values")];
    // what the ACS always knows (the device's id, its tags, its events) needs no commit, and a
    // tag set takes effect at the session's end
    if (!(path.startsWith("DeviceID.") || path.startsWith("Tags.") || path.startsWith("Events."))) state.uncommitted = true;
    if (path.startsWith("VirtualParameters.")) {
      // the virtual parameter's own script runs (in the host) before this one goes on
      const key = JSON.stringify(d);
      state.declarations.push([...d, key]);
      if (state.virtuals[key] !== true) need({ op: "virtual", declaration: d, key });
    } else {
      state.declarations.push(d);
    }
    return new ParameterWrapper(path, null);
  };

  globalThis.clear = function clear(path, timestamp) {
    if (typeof path !== "string" || !path) throw new TypeError("clear: path must be a non-empty string");
    state.clears.push([path, timestamp === undefined ? state.now : timestamp]);
    state.uncommitted = true;
  };

  globalThis.commit = commit;

  globalThis.ext = function ext(script, fn, ...rest) {
    commit();
    const call = [String(script), String(fn), rest];
    const key = JSON.stringify(call);
    const answer = state.exts[key];
    if (answer === undefined) need({ op: "ext", call, key });
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.value;
  };

  globalThis.log = function log(...parts) {
    state.logs.push(parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" "));
  };

  // Date.now() is the session's time, the same in every run; Date.now(interval) is the start of
  // the current interval, shifted by a per-device offset so devices spread their refreshes.
  Date.now = function now(interval, variance) {
    if (interval === undefined || !(interval > 0)) return state.now;
    const v = variance === undefined ? interval : Math.max(1, Math.min(interval, variance));
    const offset = state.offset % v;
    return state.now - ((state.now - offset) % interval);
  };

  // Math.random is seeded with the device id (mulberry32), so a script draws the same numbers
  // for a device every time: a generated password stays the same across sessions.
  Math.random = function random() {
    state.seed = (state.seed + 0x6d2b79f5) | 0;
    let t = state.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // The context serves every device's runs: what the API and the runner rely on cannot be
  // replaced by a script (its own globals are removed after each run, see forgetGlobals)
  for (const o of [JSON, Math, Date, Object, Array, Array.prototype, String.prototype, Set, Set.prototype]) Object.freeze(o);

  globalThis.__scripts = Object.create(null);
  let baseline = null; // the globals of the API: what a script adds is removed before the next run
  function forgetGlobals() {
    for (const k of Object.getOwnPropertyNames(globalThis)) {
      if (!baseline.has(k)) {
        try { delete globalThis[k]; } catch (e) { /* non-configurable: left */ }
      }
    }
  }
  globalThis.__run = function (name, input) {
    if (baseline === null) baseline = new Set([...Object.getOwnPropertyNames(globalThis), "args"]);
    else forgetGlobals();
    const given = JSON.parse(input);
    Object.assign(state, {
      now: given.now, offset: given.offset, seed: given.seed | 0, passed: given.passed || {},
      answers: given.answers || {}, virtuals: given.virtuals || {}, exts: given.exts || {}, uncommitted: false,
      commits: 0, need: null, declarations: [], clears: [], logs: [],
    });
    globalThis.args = given.args;
    let done = false, result = null;
    try {
      const r = globalThis.__scripts[name]();
      done = true;
      result = r === undefined ? null : r;
    } catch (e) {
      if (e !== STOP) throw e;
    }
    // one line of run state, then one line per declaration: the host looks a declaration up by
    // its text (scripts repeat theirs) and parses only the ones it has not seen
    let text = JSON.stringify({ done, result, need: state.need, clears: state.clears, logs: state.logs });
    for (const d of state.declarations) text += "\n" + JSON.stringify(d);
    return text;
  };
})();
