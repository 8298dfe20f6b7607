import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { ProgressBar, useToast } from '../../components';
import { CONNECT_NOW, idsMatching, runBulk, type BulkProgress } from '../../devices/bulk';

type Kind = 'tag' | 'untag' | 'reboot' | 'refresh' | 'firmware' | 'preset';
const LABEL: Record<Kind, string> = {
  tag: 'Add tag', untag: 'Remove tag', reboot: 'Reboot', refresh: 'Refresh parameters', firmware: 'Push firmware',
  preset: 'Apply preset',
};

function task(id: string, body: unknown) {
  return api.post(`/devices/${encodeURIComponent(id)}/tasks`, body, CONNECT_NOW);
}

/**
 * Actions on the selected rows or on every device of the current filter: each is one NBI call
 * per device (tags, tasks sent with a connection request), four at a time, with progress.
 */
export function BulkActions({ selected, query, onDone }: { selected: string[]; query: Record<string, unknown>; onDone: () => void }) {
  const { notify } = useToast();
  const qc = useQueryClient();
  const [scope, setScope] = useState<'selected' | 'filter'>('selected');
  const [kind, setKind] = useState<Kind>('tag');
  const [arg, setArg] = useState('');
  const [progress, setProgress] = useState<BulkProgress | null>(null);
  const [busy, setBusy] = useState(false);
  const needsFiles = kind === 'firmware';
  const needsPresets = kind === 'preset';
  const files = useQuery({
    queryKey: ['files', 'firmware'],
    queryFn: () => api.get<Array<{ filename?: string; _id: string }>>('/files/', { projection: 'filename', limit: 200 }),
    enabled: needsFiles,
  });
  const presets = useQuery({
    queryKey: ['presets', 'names'],
    queryFn: () => api.get<Array<{ _id: string }>>('/presets/', { projection: '_id', limit: 500 }),
    enabled: needsPresets,
  });

  async function run() {
    if ((kind === 'tag' || kind === 'untag' || kind === 'firmware' || kind === 'preset') && !arg.trim()) {
      notify('error', `${LABEL[kind]}: choose ${kind === 'firmware' ? 'a file' : kind === 'preset' ? 'a preset' : 'a tag'} first`);
      return;
    }
    setBusy(true);
    try {
      if (kind === 'preset') {
        // the NBI applies a preset to the devices its precondition matches, paced server-side
        const r = await api.post<{ devices: number }>(`/presets/${encodeURIComponent(arg)}/apply`);
        notify('success', `Preset ${arg}: connection requests queued for ${r.devices} device(s)`);
        return;
      }
      const ids = scope === 'selected' ? selected : await idsMatching(query);
      if (scope === 'filter' && !window.confirm(`${LABEL[kind]} on ${ids.length} device(s) matching the filter?`)) return;
      const t = arg.trim();
      const action = (id: string): Promise<unknown> => {
        const enc = encodeURIComponent(id);
        switch (kind) {
          case 'tag': return api.post(`/devices/${enc}/tags/${encodeURIComponent(t)}`);
          case 'untag': return api.del(`/devices/${enc}/tags/${encodeURIComponent(t)}`);
          case 'reboot': return task(id, { name: 'reboot' });
          case 'refresh': return task(id, { name: 'refreshObject', objectName: '' });
          case 'firmware': return task(id, { name: 'download', fileType: '1 Firmware Upgrade Image', fileName: t });
          default: return Promise.resolve();
        }
      };
      const p = await runBulk(ids, action, setProgress);
      notify(p.failed ? 'error' : 'success', `${LABEL[kind]}: ${p.done - p.failed} of ${p.total} done${p.failed ? `, ${p.failed} failed (${p.errors[0]})` : ''}`);
      void qc.invalidateQueries({ queryKey: ['devices'] });
      onDone();
    } catch (e) {
      notify('error', `${LABEL[kind]}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel bulk" aria-labelledby="bulk-title">
      <h2 id="bulk-title">Bulk action</h2>
      <div className="row">
        <fieldset className="inline-fieldset">
          <legend className="visually-hidden">Devices</legend>
          <label className="inline">
            <input type="radio" name="scope" checked={scope === 'selected'} onChange={() => setScope('selected')} disabled={kind === 'preset'} />{' '}
            Selected ({selected.length})
          </label>
          <label className="inline">
            <input type="radio" name="scope" checked={scope === 'filter'} onChange={() => setScope('filter')} disabled={kind === 'preset'} />{' '}
            Every device matching the filter
          </label>
        </fieldset>
        <label className="inline">
          Action{' '}
          <select value={kind} onChange={(e) => { setKind(e.target.value as Kind); setArg(''); }}>
            {(Object.keys(LABEL) as Kind[]).map((k) => <option key={k} value={k}>{LABEL[k]}</option>)}
          </select>
        </label>
        {(kind === 'tag' || kind === 'untag') && (
          <label className="inline">Tag to add or remove <input value={arg} onChange={(e) => setArg(e.target.value)} size={14} /></label>
        )}
        {kind === 'firmware' && (
          <label className="inline">
            File{' '}
            <select value={arg} onChange={(e) => setArg(e.target.value)}>
              <option value="">Choose…</option>
              {(files.data ?? []).map((f) => { const n = f.filename ?? f._id; return <option key={n} value={n}>{n}</option>; })}
            </select>
          </label>
        )}
        {kind === 'preset' && (
          <label className="inline">
            Preset{' '}
            <select value={arg} onChange={(e) => setArg(e.target.value)}>
              <option value="">Choose…</option>
              {(presets.data ?? []).map((p) => <option key={p._id} value={p._id}>{p._id}</option>)}
            </select>
          </label>
        )}
        <button type="button" className="primary" onClick={run} disabled={busy || (scope === 'selected' && kind !== 'preset' && selected.length === 0)}>
          Run
        </button>
      </div>
      {kind === 'preset' && <p className="hint">Applies to the devices the preset&apos;s precondition matches (the NBI paces the connection requests).</p>}
      {progress && (
        <div className="row" aria-live="polite">
          <ProgressBar label="Bulk action progress" value={progress.done} max={progress.total || 1} />
          <span>{progress.done} of {progress.total}{progress.failed ? `, ${progress.failed} failed` : ''}</span>
        </div>
      )}
    </section>
  );
}
