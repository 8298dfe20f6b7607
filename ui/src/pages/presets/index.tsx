import './presets.css';
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { ErrorNote, PageHeader, useToast } from '../../components';
import { eventsText, TEMPLATE, type Preset } from './model';
import { PresetEditor } from './PresetEditor';

/** Presets: the list, a JSON editor with the NBI's validation messages, delete and re-apply. */
export default function PresetsPage() {
  const { can } = useAuth();
  const toast = useToast();
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const selected = params.get('p');
  const [creating, setCreating] = useState(false);
  const list = useQuery({ queryKey: ['presets'], queryFn: () => api.get<Preset[]>('/presets/', { sort: { _id: 1 } }) });
  const current = (list.data ?? []).find((p) => p._id === selected) ?? null;

  const remove = useMutation({
    mutationFn: (name: string) => api.del(`/presets/${encodeURIComponent(name)}`),
    onSuccess: (_, name) => {
      toast.notify('success', `Preset ${name} deleted`);
      if (name === selected) setParams({});
    },
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['presets'] }),
  });
  const apply = useMutation({
    mutationFn: (name: string) => api.post<{ devices: number }>(`/presets/${encodeURIComponent(name)}/apply`),
    onSuccess: (r, name) => toast.notify('success', `Preset ${name}: connection requests to ${r.devices} devices`),
    onError: (e) => toast.notify('error', e.message),
  });

  const open = (name: string | null) => {
    setCreating(false);
    setParams(name ? { p: name } : {});
  };

  return (
    <>
      <PageHeader title="Presets">
        {can('admin') && (
          <button
            type="button"
            className="primary"
            onClick={() => {
              setParams({});
              setCreating(true);
            }}
          >
            New preset
          </button>
        )}
      </PageHeader>
      {creating && <PresetEditor key="new" preset={{ _id: '', ...TEMPLATE }} onSaved={open} onClose={() => setCreating(false)} />}
      {!creating && current && <PresetEditor key={current._id} preset={current} onSaved={open} onClose={() => open(null)} />}
      <ErrorNote error={list.error} />
      <div className="table-scroll">
        <table>
          <caption className="visually-hidden">Presets</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Channel</th>
              <th scope="col">Weight</th>
              <th scope="col">Events</th>
              <th scope="col">Precondition</th>
              <th scope="col">Configurations</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((p) => (
              <tr key={p._id} aria-current={p._id === selected ? 'true' : undefined}>
                <td>
                  <button type="button" className="link" onClick={() => open(p._id)}>
                    {p._id}
                  </button>
                </td>
                <td>{p.channel}</td>
                <td>{p.weight}</td>
                <td>{eventsText(p.events)}</td>
                <td className="mono small">{p.precondition || '(every device)'}</td>
                <td>{(p.configurations?.length ?? 0) + (p.declarations?.length ?? 0)}</td>
                <td>
                  <div className="row">
                    <button type="button" disabled={!can('operate') || apply.isPending} onClick={() => apply.mutate(p._id)} aria-label={`Apply ${p._id} now`}>
                      Apply now
                    </button>
                    <button
                      type="button"
                      className="danger"
                      disabled={!can('admin') || remove.isPending}
                      aria-label={`Delete ${p._id}`}
                      onClick={() => {
                        if (window.confirm(`Delete preset ${p._id}?`)) remove.mutate(p._id);
                      }}
                    >
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
            {list.data?.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  No preset yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}
