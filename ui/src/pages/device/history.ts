/**
 * KPI history (GET /devices/<id>/history, docs/monitoring.md): the time ranges the panel offers
 * as the NBI's from/to, and a series as chart rows. Down-sampled hours carry min, max, avg and n
 * besides their last value; they are drawn as their average with min and max lines around it.
 */

export interface HistoryPoint {
  t: string;
  value: unknown;
  min?: number;
  max?: number;
  avg?: number;
  n?: number;
}

export interface HistoryResponse {
  device: string;
  from: string;
  to: string;
  truncated: boolean;
  series: Record<string, HistoryPoint[]>;
}

export type RangeKind = '1h' | '24h' | '7d' | 'custom';

export const RANGES: Array<[RangeKind, string]> = [
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['custom', 'custom'],
];

const SPAN_MS: Record<Exclude<RangeKind, 'custom'>, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

/** How many points one chart asks for: enough for a week of 1-minute samples. */
export const POINT_LIMIT = 20_000;

/**
 * The from/to (ISO) of a range; custom takes the two `datetime-local` inputs (local time).
 * An error names what is wrong instead of sending a range the NBI refuses.
 */
export function rangeBounds(kind: RangeKind, custom: { from: string; to: string }, now: number = Date.now()): { from: string; to: string } | { error: string } {
  if (kind !== 'custom') return { from: new Date(now - SPAN_MS[kind]).toISOString(), to: new Date(now).toISOString() };
  const from = Date.parse(custom.from);
  const to = custom.to ? Date.parse(custom.to) : now;
  if (Number.isNaN(from)) return { error: 'a start time is needed' };
  if (Number.isNaN(to)) return { error: 'the end time is not a time' };
  if (from >= to) return { error: 'the start must be before the end' };
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** One chart row: time (ms), the line's value (avg of a down-sampled hour), its min and max. */
export interface ChartRow {
  t: number;
  y: number;
  min?: number;
  max?: number;
  n?: number;
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** The numeric points of a series as chart rows, and how many were not numbers (strings). */
export function chartRows(points: HistoryPoint[]): { rows: ChartRow[]; other: number; downsampled: number } {
  const rows: ChartRow[] = [];
  let other = 0;
  let downsampled = 0;
  for (const p of points) {
    const t = Date.parse(p.t);
    const agg = typeof p.min === 'number' && typeof p.max === 'number';
    const y = typeof p.avg === 'number' ? p.avg : num(p.value);
    if (Number.isNaN(t) || y === null) {
      other++;
      continue;
    }
    if (agg) {
      downsampled++;
      rows.push({ t, y, min: p.min as number, max: p.max as number, n: p.n });
    } else {
      rows.push({ t, y });
    }
  }
  rows.sort((a, b) => a.t - b.t);
  return { rows, other, downsampled };
}

/** The parameters with history, sorted, keeping a chosen one that has none in this range. */
export function parameterChoices(series: Record<string, unknown> | undefined, chosen: string): string[] {
  const names = new Set(Object.keys(series ?? {}));
  if (chosen) names.add(chosen);
  return [...names].sort();
}

/** The last point's value as text (for a series of strings, which draws no line). */
export function lastValue(points: HistoryPoint[]): string {
  const p = points[points.length - 1];
  if (!p) return '';
  return typeof p.value === 'string' ? p.value : JSON.stringify(p.value);
}
