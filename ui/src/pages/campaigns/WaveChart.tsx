import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { CAMPAIGN_STATES, type WaveRow } from './model';

export const STATE_COLOURS: Record<string, string> = {
  pending: '#afb8c1',
  queued: '#8c959f',
  downloading: '#2f6fb3',
  done: '#1a7f37',
  failed: '#cf222e',
  cancelled: '#6e7781',
};

/** Devices per state in each wave, stacked; the table below carries the same numbers. */
export function WaveChart({ rows, label }: { rows: WaveRow[]; label: string }) {
  if (rows.length === 0) return <p className="muted">No wave has started yet.</p>;
  const states = CAMPAIGN_STATES.filter((s) => s !== 'pending' && rows.some((r) => r[s] > 0));
  return (
    <>
      <div aria-hidden="true" className="chart">
        <ResponsiveContainer width="100%" height={Math.max(160, 40 * rows.length + 60)}>
          <BarChart data={rows} layout="vertical" margin={{ left: 8, right: 16, top: 4, bottom: 4 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" allowDecimals={false} />
            <YAxis type="category" dataKey="wave" width={70} />
            <Tooltip />
            <Legend />
            {states.map((s) => (
              <Bar key={s} dataKey={s} stackId="devices" fill={STATE_COLOURS[s]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="compact">
        <caption className="visually-hidden">{label}</caption>
        <thead>
          <tr>
            <th scope="col">Wave</th>
            <th scope="col">Devices</th>
            {CAMPAIGN_STATES.filter((s) => s !== 'pending').map((s) => (
              <th key={s} scope="col">
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.wave}>
              <th scope="row">{r.wave}</th>
              <td>{r.size}</td>
              {CAMPAIGN_STATES.filter((s) => s !== 'pending').map((s) => (
                <td key={s}>{r[s]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
