import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { InformPoint } from './model';

const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Informs per minute since this page opened (one point per refresh). */
export function InformsChart({ points }: { points: InformPoint[] }) {
  const last = points[points.length - 1];
  return (
    <section className="panel" aria-labelledby="informs-title">
      <h2 id="informs-title">Informs per minute</h2>
      <p className="muted">
        Devices whose last Inform is under a minute old, sampled at each refresh since this page opened
        {last ? `; now ${last.informs}` : ''}.
      </p>
      {points.length > 1 && (
        <div aria-hidden="true" className="chart">
          <ResponsiveContainer width="100%" height={180}>
            <LineChart data={points} margin={{ left: 0, right: 16, top: 4, bottom: 4 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="at" type="number" domain={['dataMin', 'dataMax']} tickFormatter={time} scale="time" />
              <YAxis allowDecimals={false} />
              <Tooltip labelFormatter={(t) => time(Number(t))} />
              <Line type="monotone" dataKey="informs" stroke="#2f6fb3" dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </section>
  );
}
