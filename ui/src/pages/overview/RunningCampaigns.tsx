import { Link } from 'react-router';
import { ProgressBar } from '../../components';
import { isActive, progress, reasonText, type Campaign } from '../campaigns/model';

/** Running and paused campaigns with their progress (done, failed or cancelled of all devices). */
export function RunningCampaigns({ campaigns }: { campaigns: Campaign[] }) {
  const active = campaigns.filter(isActive);
  return (
    <section className="panel" aria-labelledby="running-title">
      <h2 id="running-title">Campaigns in progress</h2>
      {active.length === 0 ? (
        <p className="muted">No campaign is running.</p>
      ) : (
        <ul className="campaign-list">
          {active.map((c) => {
            const p = progress(c);
            return (
              <li key={c._id}>
                <div className="row">
                  <Link to={`/campaigns?c=${encodeURIComponent(c._id)}`}>{c._id}</Link>
                  <span className={`badge badge-${c.status}`}>{c.status}</span>
                  <span className="muted">
                    {c.fileName} · {p.finished} of {p.total} finished · {c.counts.failed} failed
                  </span>
                </div>
                <ProgressBar label={`Campaign ${c._id} progress`} value={p.finished} max={p.total || 1} />
                {c.status === 'paused' && <p className="muted">{reasonText(c)}</p>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
