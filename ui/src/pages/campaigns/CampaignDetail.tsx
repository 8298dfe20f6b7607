import { useEffect } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { dateTime, ErrorNote, ProgressBar, usePageVisible, useToast } from '../../components';
import { CAMPAIGN_STATES, isActive, progress, reasonText, stillMoving, waveRows, type Campaign } from './model';
import { WaveChart } from './WaveChart';

type Action = 'pause' | 'resume' | 'abort';

export const LIVE_MS = 2000;

/** One campaign: live progress (polled every 2 s while it runs), waves, pause/resume/abort. */
export function CampaignDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const { can } = useAuth();
  const toast = useToast();
  const qc = useQueryClient();
  const visible = usePageVisible();
  const q = useQuery({
    queryKey: ['campaign', id],
    queryFn: () => api.get<Campaign>(`/campaigns/${encodeURIComponent(id)}`),
    // live while devices may still change state; a settled campaign is not polled
    refetchInterval: (query) => (visible && (!query.state.data || stillMoving(query.state.data)) ? LIVE_MS : false),
  });
  const c = q.data;
  // the list below shows the same campaign: keep its row as fresh as this view
  useEffect(() => {
    if (c) qc.setQueryData<Campaign[]>(['campaigns'], (list) => list?.map((x) => (x._id === c._id ? c : x)));
  }, [c, qc]);

  const act = useMutation({
    mutationFn: (a: Action) => api.post<Campaign>(`/campaigns/${encodeURIComponent(id)}/${a}`),
    onSuccess: (updated, a) => {
      qc.setQueryData(['campaign', id], updated);
      void qc.invalidateQueries({ queryKey: ['campaigns'] });
      toast.notify('success', `Campaign ${id}: ${a === 'abort' ? 'aborted' : a === 'pause' ? 'paused' : 'resumed'}`);
    },
    onError: (e) => toast.notify('error', e.message),
  });

  if (q.error) return <ErrorNote error={q.error} />;
  if (!c) return <p className="loading">Loading campaign…</p>;
  const p = progress(c);
  const operate = can('operate');
  return (
    <section className="panel campaign-detail" aria-labelledby="campaign-title">
      <div className="row spread">
        <h2 id="campaign-title">
          Campaign {c._id} <span className={`badge badge-${c.status}`}>{c.status}</span>
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <p>
        {c.fileName} ({c.fileType}) to {c.total} devices matching <code>{c.query}</code>; canary {c.canaryPercent}%, waves ×
        {c.waveGrowth}, at most {c.maxConcurrent} at once, pause above {Math.round(c.failureThreshold * 1000) / 10}% failed.
        {c.created && <> Created {dateTime(c.created)}.</>}
      </p>
      {c.reason && <p className="notice">{reasonText(c)}</p>}
      <ProgressBar label={`Campaign ${c._id} progress`} value={p.finished} max={p.total || 1} />
      <ul className="state-counts" aria-label="Devices per state">
        {CAMPAIGN_STATES.map((s) => (
          <li key={s}>
            <span className={`badge badge-${s}`}>{s}</span> {c.counts[s]}
          </li>
        ))}
      </ul>
      <div className="row">
        {c.status === 'running' && (
          <button type="button" disabled={!operate || act.isPending} onClick={() => act.mutate('pause')}>
            Pause
          </button>
        )}
        {c.status === 'paused' && (
          <button type="button" className="primary" disabled={!operate || act.isPending} onClick={() => act.mutate('resume')}>
            Resume
          </button>
        )}
        {isActive(c) && (
          <button
            type="button"
            className="danger"
            disabled={!operate || act.isPending}
            onClick={() => {
              if (window.confirm(`Abort campaign ${c._id}? Devices not yet downloading are cancelled.`)) act.mutate('abort');
            }}
          >
            Abort
          </button>
        )}
        {!operate && isActive(c) && <span className="muted">Pausing, resuming and aborting need the operator role.</span>}
      </div>
      <h3>Progress per wave</h3>
      <WaveChart rows={waveRows(c)} label={`Campaign ${c._id} devices per wave`} />
    </section>
  );
}
