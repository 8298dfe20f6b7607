import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api } from '../../api/client';
import { dateTime, ErrorNote, SelectField, TextField, usePolling } from '../../components';
import { chartRows, lastValue, parameterChoices, POINT_LIMIT, RANGES, rangeBounds, type HistoryResponse, type RangeKind } from './history';

/** Points asked for when listing which parameters have history in the range. */
const NAMES_LIMIT = 5000;

const tick = (span: number) => (t: number) =>
  span > 2 * 86_400_000
    ? new Date(t).toLocaleDateString([], { month: 'short', day: 'numeric' })
    : new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function historyOf(id: string, kind: RangeKind, custom: { from: string; to: string }, parameter: string | null, limit: number) {
  const range = rangeBounds(kind, custom);
  if ('error' in range) throw new Error(range.error);
  return api.get<HistoryResponse>(`/devices/${encodeURIComponent(id)}/history`, {
    ...range, limit, ...(parameter ? { parameters: parameter } : {}),
  });
}

/**
 * A device's KPI history: pick a parameter that has samples in the range, and a range (last
 * hour, day, week or custom); down-sampled hours are drawn as their average between min and max.
 * Relative ranges refresh every minute while the tab is visible.
 */
export function KpiHistory({ deviceId }: { deviceId: string }) {
  const [kind, setKind] = useState<RangeKind>('24h');
  const [custom, setCustom] = useState({ from: '', to: '' });
  const [chosen, setChosen] = useState('');
  const poll = usePolling(60_000, kind !== 'custom');
  const customKey = kind === 'custom' ? custom : null;

  const names = useQuery({
    queryKey: ['history-names', deviceId, kind, customKey],
    queryFn: () => historyOf(deviceId, kind, custom, null, NAMES_LIMIT),
    refetchInterval: poll,
    placeholderData: keepPreviousData,
    retry: false,
  });
  const choices = parameterChoices(names.data?.series, chosen);
  const parameter = chosen || choices[0] || '';
  const series = useQuery({
    queryKey: ['history', deviceId, parameter, kind, customKey],
    queryFn: () => historyOf(deviceId, kind, custom, parameter, POINT_LIMIT),
    enabled: parameter !== '',
    refetchInterval: poll,
    placeholderData: keepPreviousData,
    retry: false,
  });

  const points = series.data?.series[parameter] ?? [];
  const { rows, other, downsampled } = chartRows(points);
  const span = series.data ? Date.parse(series.data.to) - Date.parse(series.data.from) : 86_400_000;
  const error = names.error ?? series.error;
  return (
    <section className="panel kpi-history" aria-labelledby="kpi-title">
      <h2 id="kpi-title">KPI history</h2>
      <div className="row">
        <SelectField
          label="Parameter"
          value={parameter}
          options={choices.length ? choices.map((c): [string, string] => [c, c]) : [['', '(none in this range)']]}
          onChange={(e) => setChosen(e.target.value)}
        />
        <SelectField label="Time range" value={kind} options={RANGES} onChange={(e) => setKind(e.target.value as RangeKind)} />
        {kind === 'custom' && (
          <>
            <TextField label="From" type="datetime-local" value={custom.from} onChange={(e) => setCustom({ ...custom, from: e.target.value })} />
            <TextField label="To" type="datetime-local" value={custom.to} onChange={(e) => setCustom({ ...custom, to: e.target.value })} hint="empty: now" />
          </>
        )}
      </div>
      <ErrorNote error={error} />
      {!error && names.data && choices.length === 0 && <p className="muted">No history for this device in this range.</p>}
      {series.data?.truncated && (
        <p className="notice" role="status">
          Only the first {POINT_LIMIT.toLocaleString()} points of this range are shown; pick a shorter range to see them all.
        </p>
      )}
      {parameter && series.data && (
        <>
          <p className="muted">
            {rows.length} point{rows.length === 1 ? '' : 's'} of <span className="mono">{parameter}</span> from {dateTime(series.data.from)} to {dateTime(series.data.to)}
            {downsampled > 0 && `; ${downsampled} down-sampled hour${downsampled === 1 ? '' : 's'} drawn as their average between min and max`}
            {other > 0 && `; ${other} value${other === 1 ? '' : 's'} not numeric (last: ${lastValue(points)})`}.
          </p>
          {rows.length > 0 ? (
            <div className="chart" role="img" aria-label={`History of ${parameter}`}>
              <ResponsiveContainer width="100%" height={240}>
                <LineChart data={rows} margin={{ left: 0, right: 16, top: 4, bottom: 4 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={tick(span)} />
                  <YAxis width={64} />
                  <Tooltip labelFormatter={(t) => new Date(Number(t)).toLocaleString()} />
                  {downsampled > 0 && (
                    <>
                      <Line type="monotone" dataKey="min" name="min" stroke="#8fb3dc" strokeDasharray="4 3" dot={false} isAnimationActive={false} connectNulls />
                      <Line type="monotone" dataKey="max" name="max" stroke="#8fb3dc" strokeDasharray="4 3" dot={false} isAnimationActive={false} connectNulls />
                    </>
                  )}
                  <Line type="monotone" dataKey="y" name={downsampled > 0 ? 'value (avg)' : 'value'} stroke="#2f6fb3" dot={rows.length < 60} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          ) : (
            points.length === 0 && <p className="muted">No history of {parameter} in this range.</p>
          )}
        </>
      )}
    </section>
  );
}
