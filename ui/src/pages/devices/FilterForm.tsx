import { useState, type FormEvent } from 'react';
import { SelectField, TextAreaField, TextField } from '../../components';
import {
  deleteFilter, EMPTY_FILTER, FilterError, saveFilter, savedFilters, toQuery,
  type DeviceFilter, type ParamOp, type SeenWithin,
} from '../../devices/filters';

const SEEN: Array<[SeenWithin, string]> = [
  ['', 'Any time'], ['5m', 'In the last 5 minutes'], ['1h', 'In the last hour'], ['24h', 'In the last 24 hours'],
  ['not24h', 'Not in 24 hours'], ['never', 'Never'],
];
const OPS: Array<[ParamOp, string]> = [
  ['eq', 'equals'], ['ne', 'differs from'], ['contains', 'contains'], ['gt', 'greater than'], ['lt', 'less than'],
  ['exists', 'exists'],
];

/** The search form: applies on submit (Enter), clears, and saves/loads named filters. */
export function FilterForm({ value, onApply }: { value: DeviceFilter; onApply: (f: DeviceFilter) => void }) {
  const [draft, setDraft] = useState<DeviceFilter>(value);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(savedFilters);
  const [advanced, setAdvanced] = useState(Boolean(value.path || value.raw));
  const set = (k: keyof DeviceFilter) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });

  function apply(e?: FormEvent) {
    e?.preventDefault();
    try {
      toQuery(draft);
      setError(null);
      onApply(draft);
    } catch (err) {
      setError(err instanceof FilterError ? err.message : String(err));
    }
  }

  function save() {
    const name = window.prompt('Name of this filter');
    if (!name?.trim()) return;
    saveFilter(name.trim(), draft);
    setSaved(savedFilters());
  }

  function load(name: string) {
    const f = saved[name];
    if (!f) return;
    setDraft(f);
    setAdvanced(Boolean(f.path || f.raw));
    onApply(f);
  }

  return (
    <form className="panel filters" role="search" aria-label="Device search" onSubmit={apply}>
      <div className="row">
        <TextField label="Serial number" name="serial" value={draft.serial} onChange={set('serial')} placeholder="starts with…" />
        <TextField label="OUI" name="oui" value={draft.oui} onChange={set('oui')} size={8} />
        <TextField label="Product class" name="productClass" value={draft.productClass} onChange={set('productClass')} />
        <TextField label="Tag" name="tag" value={draft.tag} onChange={set('tag')} size={12} />
        <SelectField label="Last inform" name="seen" value={draft.seen} onChange={set('seen')} options={SEEN} />
      </div>
      {advanced && (
        <div className="row">
          <TextField label="Parameter" name="path" value={draft.path} onChange={set('path')} placeholder="Device.DeviceInfo.SoftwareVersion" size={40} />
          <SelectField label="Condition" name="op" value={draft.op} onChange={set('op')} options={OPS} />
          <TextField label="Value" name="value" value={draft.value} onChange={set('value')} disabled={draft.op === 'exists'} />
          <TextAreaField label="Query (JSON)" name="raw" value={draft.raw} onChange={set('raw')} rows={2} placeholder='{"_tags": "lab"}' style={{ minHeight: '2.4rem' }} />
        </div>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="row">
        <button type="submit" className="primary">Search</button>
        <button type="button" onClick={() => { setDraft(EMPTY_FILTER); setError(null); onApply(EMPTY_FILTER); }}>Clear</button>
        <button type="button" aria-expanded={advanced} onClick={() => setAdvanced(!advanced)}>
          {advanced ? 'Fewer conditions' : 'Parameter / JSON conditions'}
        </button>
        <button type="button" onClick={save}>Save filter…</button>
        {Object.keys(saved).length > 0 && (
          <>
            <label className="inline">
              Saved filters{' '}
              <select value="" onChange={(e) => load(e.target.value)}>
                <option value="">Choose…</option>
                {Object.keys(saved).sort().map((n) => <option key={n} value={n}>{n}</option>)}
              </select>
            </label>
            <label className="inline">
              Delete saved{' '}
              <select value="" onChange={(e) => { if (e.target.value) { deleteFilter(e.target.value); setSaved(savedFilters()); } }}>
                <option value="">Choose…</option>
                {Object.keys(saved).sort().map((n) => <option key={n} value={n}>{n}</option>)}
              </select>
            </label>
          </>
        )}
      </div>
    </form>
  );
}
