import './campaigns.css';
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { dateTime, ErrorNote, PageHeader, ProgressBar, usePageVisible } from '../../components';
import { CampaignDetail } from './CampaignDetail';
import { CampaignForm } from './CampaignForm';
import { progress, stillMoving, type Campaign } from './model';

/** Firmware campaigns: the list with live progress, one campaign's waves, and a new one. */
export default function CampaignsPage() {
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const selected = params.get('c');
  const [creating, setCreating] = useState(false);
  const visible = usePageVisible();
  const list = useQuery({
    queryKey: ['campaigns'],
    queryFn: () => api.get<Campaign[]>('/campaigns'),
    // every 3 s while a campaign moves, else every 30 s (another operator may start one)
    refetchInterval: (query) => (!visible ? false : (query.state.data ?? []).some(stillMoving) ? 3000 : 30_000),
  });
  const open = (id: string | null) => setParams(id ? { c: id } : {});

  return (
    <>
      <PageHeader title="Campaigns">
        {can('operate') ? (
          <button type="button" className="primary" aria-expanded={creating} onClick={() => setCreating((v) => !v)}>
            {creating ? 'Cancel new campaign' : 'New campaign'}
          </button>
        ) : (
          <span className="muted">Starting a campaign needs the operator role.</span>
        )}
      </PageHeader>
      {creating && can('operate') && (
        <CampaignForm
          onCreated={(c) => {
            setCreating(false);
            open(c._id);
          }}
        />
      )}
      {selected && <CampaignDetail key={selected} id={selected} onClose={() => open(null)} />}
      <ErrorNote error={list.error} />
      <div className="table-scroll">
        <table>
          <caption className="visually-hidden">Campaigns</caption>
          <thead>
            <tr>
              <th scope="col">Campaign</th>
              <th scope="col">Status</th>
              <th scope="col">File</th>
              <th scope="col">Progress</th>
              <th scope="col">Failed</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((c) => {
              const p = progress(c);
              return (
                <tr key={c._id} aria-current={c._id === selected ? 'true' : undefined}>
                  <td>
                    <button type="button" className="link" onClick={() => open(c._id)}>
                      {c._id}
                    </button>
                  </td>
                  <td>
                    <span className={`badge badge-${c.status}`}>{c.status}</span>
                  </td>
                  <td className="mono">{c.fileName}</td>
                  <td className="progress-cell">
                    <ProgressBar label={`${c._id}: ${p.finished} of ${p.total} finished`} value={p.finished} max={p.total || 1} />
                    <small className="muted">
                      {p.finished} / {p.total}
                    </small>
                  </td>
                  <td>{c.counts.failed}</td>
                  <td>{dateTime(c.created)}</td>
                </tr>
              );
            })}
            {list.data?.length === 0 && (
              <tr>
                <td colSpan={6} className="empty">
                  No campaign yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}
