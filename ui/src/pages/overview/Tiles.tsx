import { Link } from 'react-router';
import { devicesLink, type Overview } from './model';

function Tile({ label, value, to, tone }: { label: string; value: number; to?: string; tone?: string }) {
  const body = (
    <>
      <span className="tile-value">{value.toLocaleString()}</span>
      <span className="tile-label">{label}</span>
    </>
  );
  return (
    <li className={`tile${tone ? ` tile-${tone}` : ''}`}>
      {to ? (
        <Link to={to} aria-label={`${label}: ${value}`}>
          {body}
        </Link>
      ) : (
        <div aria-label={`${label}: ${value}`}>{body}</div>
      )}
    </li>
  );
}

/** The headline numbers; contact states link to the matching device search where it exists. */
export function Tiles({ o }: { o: Overview }) {
  const mins = Math.round(o.interval / 60);
  const within = mins >= 60 ? `${Math.round(mins / 60)} h` : `${mins} min`;
  const onlineLink = o.interval === 300 ? devicesLink({ seen: '5m' }) : o.interval === 3600 ? devicesLink({ seen: '1h' }) : o.interval === 86400 ? devicesLink({ seen: '24h' }) : undefined;
  return (
    <ul className="tiles" aria-label="Fleet summary">
      <Tile label={`Online (informed within ${within})`} value={o.devices.online} to={onlineLink} tone="online" />
      <Tile label="Stale" value={o.devices.stale} tone="stale" />
      <Tile label="Never seen" value={o.devices.never} to={devicesLink({ seen: 'never' })} tone="never" />
      <Tile label="Devices" value={o.devices.total} to="/devices" />
      <Tile label="Informs in the last minute" value={o.informsLastMinute} />
      <Tile label="Open faults" value={o.faults.open} to="/faults" tone={o.faults.open ? 'fault' : undefined} />
      <Tile label="Pending tasks" value={o.tasksPending} />
    </ul>
  );
}
