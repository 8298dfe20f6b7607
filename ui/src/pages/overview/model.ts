/** GET /overview as the NBI serves it, and the Informs-per-minute history kept between polls. */

export interface Row {
  value: string | null;
  count: number;
  other?: boolean;
  productClass?: string | null;
}

export interface Overview {
  at: string;
  /** When the firmware and model distributions were computed (kept longer: a pass over every device). */
  distributionsAt?: string;
  interval: number;
  devices: { total: number; online: number; stale: number; never: number };
  informsLastMinute: number;
  faults: { open: number; codes: Row[] };
  tasksPending: number;
  firmware: Row[];
  models: Row[];
  campaigns: Record<string, number>;
}

/** A distribution row's label: its value, "(unknown)" for devices without one, "Other" for the tail. */
export function rowLabel(r: Row): string {
  if (r.other) return 'Other';
  return r.value === null || r.value === '' ? '(unknown)' : String(r.value);
}

export interface InformPoint {
  at: number;
  informs: number;
}

/**
 * Adds a poll's Informs-in-the-last-minute to the history (one point per answer: a repeated
 * answer, same `at`, is not added twice) and keeps the last `keep` points.
 */
export function addPoint(history: InformPoint[], o: Pick<Overview, 'at' | 'informsLastMinute'>, keep = 60): InformPoint[] {
  const at = Date.parse(o.at);
  if (Number.isNaN(at) || (history.length && history[history.length - 1].at >= at)) return history;
  return [...history, { at, informs: o.informsLastMinute }].slice(-keep);
}

/** The online window choices (seconds). */
export const INTERVALS: Array<[string, string]> = [
  ['300', '5 minutes'],
  ['900', '15 minutes'],
  ['3600', '1 hour'],
  ['86400', '24 hours'],
];

/** A device search link (the Devices page keeps its filter in the URL). */
export function devicesLink(filter: Record<string, string>): string {
  return `/devices?${new URLSearchParams(filter).toString()}`;
}
