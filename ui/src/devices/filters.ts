/**
 * The device search: form fields (serial, OUI, product class, tag, last inform, one parameter
 * condition, raw JSON) turned into the NBI's GenieACS-style MongoDB query, kept in the URL so a
 * search can be shared, and saved under a name in the browser.
 */

export type SeenWithin = '' | '5m' | '1h' | '24h' | 'not24h' | 'never';
export type ParamOp = 'eq' | 'ne' | 'contains' | 'gt' | 'lt' | 'exists';

export interface DeviceFilter {
  serial: string;
  oui: string;
  productClass: string;
  tag: string;
  seen: SeenWithin;
  path: string;
  op: ParamOp;
  value: string;
  /** A raw NBI query (JSON), combined with the rest by $and. */
  raw: string;
}

export const EMPTY_FILTER: DeviceFilter = {
  serial: '', oui: '', productClass: '', tag: '', seen: '', path: '', op: 'eq', value: '', raw: '',
};

const KEYS = Object.keys(EMPTY_FILTER) as Array<keyof DeviceFilter>;
const SEEN_MS: Record<'5m' | '1h' | '24h', number> = { '5m': 5 * 60_000, '1h': 3600_000, '24h': 86400_000 };

export class FilterError extends Error {}

/** A string matched literally inside a regular expression. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function scalar(v: string): string | number | boolean {
  const t = v.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t !== '' && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return v;
}

const PATH_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** The NBI query for a filter; `{}` for an empty one. Throws FilterError on bad input. */
export function toQuery(f: DeviceFilter, now: number = Date.now()): Record<string, unknown> {
  const parts: Array<Record<string, unknown>> = [];
  if (f.serial.trim()) {
    // a prefix as a range, not a regex: an index answers a range, and a serial search must stay
    // quick with 100k devices (U+FFFF sorts after every character a serial number holds)
    const s = f.serial.trim();
    parts.push({ '_deviceId._SerialNumber': { $gte: s, $lt: `${s}\uffff` } });
  }
  if (f.oui.trim()) parts.push({ '_deviceId._OUI': f.oui.trim() });
  if (f.productClass.trim()) parts.push({ '_deviceId._ProductClass': f.productClass.trim() });
  if (f.tag.trim()) parts.push({ _tags: f.tag.trim() });
  if (f.seen === 'never') parts.push({ _lastInform: { $exists: false } });
  else if (f.seen === 'not24h') parts.push({ _lastInform: { $lt: new Date(now - SEEN_MS['24h']).toISOString() } });
  else if (f.seen) parts.push({ _lastInform: { $gte: new Date(now - SEEN_MS[f.seen]).toISOString() } });
  if (f.path.trim()) {
    const path = f.path.trim();
    if (!PATH_RE.test(path)) throw new FilterError(`"${path}" is not a parameter path`);
    const v = f.value;
    switch (f.op) {
      case 'eq': parts.push({ [path]: scalar(v) }); break;
      case 'ne': parts.push({ [path]: { $ne: scalar(v) } }); break;
      case 'contains': parts.push({ [path]: { $regex: escapeRegex(v) } }); break;
      case 'gt':
      case 'lt': {
        const n = scalar(v);
        if (typeof n !== 'number') throw new FilterError(`"${v}" is not a number`);
        parts.push({ [path]: { [f.op === 'gt' ? '$gt' : '$lt']: n } });
        break;
      }
      case 'exists': parts.push({ [path]: { $exists: true } }); break;
    }
  }
  if (f.raw.trim()) {
    let raw: unknown;
    try {
      raw = JSON.parse(f.raw);
    } catch (e) {
      throw new FilterError(`query is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FilterError('query must be a JSON object');
    if (Object.keys(raw).length) parts.push(raw as Record<string, unknown>);
  }
  if (parts.length === 0) return {};
  return parts.length === 1 ? parts[0] : { $and: parts };
}

export function isEmpty(f: DeviceFilter): boolean {
  return KEYS.every((k) => k === 'op' || !f[k]);
}

/** The filter as URL search parameters (only what is set). */
export function toSearchParams(f: DeviceFilter): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of KEYS) {
    if (k === 'op' ? f.path && f.op !== 'eq' : f[k]) p.set(k, f[k]);
  }
  return p;
}

export function fromSearchParams(p: URLSearchParams): DeviceFilter {
  const f = { ...EMPTY_FILTER };
  for (const k of KEYS) {
    const v = p.get(k);
    if (v !== null) (f as Record<string, string>)[k] = v;
  }
  return f;
}

const STORE = 'acs-console-saved-filters';

/** Saved filters by name, kept in this browser (localStorage). */
export function savedFilters(): Record<string, DeviceFilter> {
  try {
    const raw = JSON.parse(localStorage.getItem(STORE) ?? '{}') as Record<string, Partial<DeviceFilter>>;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, { ...EMPTY_FILTER, ...v }]));
  } catch {
    return {};
  }
}

export function saveFilter(name: string, f: DeviceFilter): void {
  localStorage.setItem(STORE, JSON.stringify({ ...savedFilters(), [name]: f }));
}

export function deleteFilter(name: string): void {
  const all = savedFilters();
  delete all[name];
  localStorage.setItem(STORE, JSON.stringify(all));
}
