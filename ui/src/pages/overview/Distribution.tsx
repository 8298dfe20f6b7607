import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Link } from 'react-router';
import { rowLabel, type Row } from './model';

/**
 * A distribution (firmware, models, fault codes) as a horizontal bar chart, with the same
 * numbers in a table for screen readers and keyboard users (the chart itself is decorative).
 */
export function Distribution({ title, rows, link }: { title: string; rows: Row[]; link?: (r: Row) => string | undefined }) {
  const data = rows.map((r) => ({ label: rowLabel(r), count: r.count }));
  const total = rows.reduce((n, r) => n + r.count, 0);
  return (
    <section className="panel" aria-labelledby={`dist-${title}`}>
      <h2 id={`dist-${title}`}>{title}</h2>
      {rows.length === 0 ? (
        <p className="muted">No data yet.</p>
      ) : (
        <>
          <div aria-hidden="true" className="chart">
            <ResponsiveContainer width="100%" height={Math.max(120, 34 * data.length + 30)}>
              <BarChart data={data} layout="vertical" margin={{ left: 8, right: 16, top: 4, bottom: 4 }}>
                <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                <XAxis type="number" allowDecimals={false} />
                <YAxis type="category" dataKey="label" width={150} tick={{ fontSize: 12 }} />
                <Tooltip />
                <Bar dataKey="count" name="devices" fill="#2f6fb3" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <table className="compact">
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">{title}</th>
                <th scope="col">Count</th>
                <th scope="col">Share</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const href = link?.(r);
                return (
                  <tr key={rowLabel(r)}>
                    <td>{href ? <Link to={href}>{rowLabel(r)}</Link> : rowLabel(r)}</td>
                    <td>{r.count}</td>
                    <td>{total ? `${Math.round((r.count / total) * 100)}%` : ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
