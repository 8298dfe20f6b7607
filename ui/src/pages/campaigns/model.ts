/**
 * Firmware campaigns as the NBI serves them (GET /campaigns, /campaigns/{id}) and what the
 * console derives from them: progress, per-wave chart rows, the create form's checks.
 */

export const CAMPAIGN_STATES = ['pending', 'queued', 'downloading', 'done', 'failed', 'cancelled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];
export type StateCounts = Record<CampaignState, number>;
export type CampaignStatus = 'running' | 'paused' | 'aborted' | 'done';

export interface Campaign {
  _id: string;
  fileName: string;
  fileType: string;
  query: string;
  canaryPercent: number;
  waveGrowth: number;
  minWaveSize: number;
  maxConcurrent: number;
  failureThreshold: number;
  connectionRequestRate: number;
  deviceTimeoutS: number;
  status: CampaignStatus;
  total: number;
  currentWave: number;
  acceptedWave?: number;
  waves?: Record<string, { size: number; startedAt?: string }>;
  created?: string;
  updated?: string;
  reason?: { code: string; wave?: number; failed?: number; size?: number; ratio?: number; threshold?: number } | null;
  counts: StateCounts;
  waveCounts: Record<string, StateCounts>;
}

/** Devices whose outcome is known (done, failed or cancelled), out of the campaign's total. */
export function progress(c: Pick<Campaign, 'counts' | 'total'>): { finished: number; total: number; fraction: number } {
  const finished = (c.counts.done ?? 0) + (c.counts.failed ?? 0) + (c.counts.cancelled ?? 0);
  const total = c.total || 0;
  return { finished, total, fraction: total > 0 ? finished / total : 0 };
}

export function isActive(c: Pick<Campaign, 'status'>): boolean {
  return c.status === 'running' || c.status === 'paused';
}

/** Whether devices may still change state: running or paused, or transfers still finishing. */
export function stillMoving(c: Pick<Campaign, 'status' | 'counts'>): boolean {
  return isActive(c) || (c.counts.downloading ?? 0) > 0;
}

/** One chart row per wave: "Canary", "Wave 1", ... with the devices in each state. */
export interface WaveRow extends StateCounts {
  wave: string;
  size: number;
}

export function waveRows(c: Pick<Campaign, 'waveCounts'>): WaveRow[] {
  return Object.entries(c.waveCounts ?? {})
    .map(([k, counts]) => [Number(k), counts] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([n, counts]) => {
      const row = { wave: n === 0 ? 'Canary' : `Wave ${n}`, size: 0 } as WaveRow;
      for (const s of CAMPAIGN_STATES) {
        row[s] = counts[s] ?? 0;
        row.size += row[s];
      }
      return row;
    });
}

/** Why a campaign stopped, in words. */
export function reasonText(c: Pick<Campaign, 'reason' | 'status'>): string {
  const r = c.reason;
  if (!r) return '';
  if (r.code === 'operator') return 'paused by an operator';
  if (r.code === 'failure_threshold') {
    const pct = (x: number | undefined) => `${Math.round((x ?? 0) * 1000) / 10}%`;
    return `paused: ${r.failed} of ${r.size} devices failed in ${r.wave === 0 ? 'the canary' : `wave ${r.wave}`} (${pct(r.ratio)} > ${pct(r.threshold)})`;
  }
  return r.code;
}

/** The create form, as typed (strings), and the NBI body it becomes. */
export interface CampaignForm {
  name: string;
  fileName: string;
  fileType: string;
  query: string;
  canaryPercent: string;
  waveGrowth: string;
  maxConcurrent: string;
  failureThreshold: string;
  connectionRequestRate: string;
}

export const DEFAULT_FORM: CampaignForm = {
  name: '',
  fileName: '',
  fileType: '1 Firmware Upgrade Image',
  query: '{}',
  canaryPercent: '5',
  waveGrowth: '2',
  maxConcurrent: '50',
  failureThreshold: '10',
  connectionRequestRate: '20',
};

export type FormErrors = Partial<Record<keyof CampaignForm, string>>;

const NUMBERS: Array<[keyof CampaignForm, number, number, boolean]> = [
  ['canaryPercent', 0.01, 100, false],
  ['waveGrowth', 1, 100, false],
  ['maxConcurrent', 1, 100_000, true],
  ['failureThreshold', 0, 100, false],
  ['connectionRequestRate', 0.1, 10_000, false],
];

/**
 * The body of POST /campaigns, or the fields' errors. The checks mirror the NBI's so a typo is
 * caught before sending; the NBI checks again and its message is shown when it refuses.
 * The failure threshold is typed in percent (the NBI takes a fraction).
 */
export function campaignBody(f: CampaignForm): { body?: Record<string, unknown>; errors: FormErrors } {
  const errors: FormErrors = {};
  const body: Record<string, unknown> = {};
  if (f.name.trim()) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(f.name.trim())) errors.name = "1-64 letters, digits, '_', '-' or '.'";
    else body.name = f.name.trim();
  }
  if (!f.fileName) errors.fileName = 'choose a file';
  else body.fileName = f.fileName;
  if (!/^(?:[1-9][0-9]* .+|X [0-9A-Fa-f]{6} .+)$/.test(f.fileType)) errors.fileType = 'like "1 Firmware Upgrade Image"';
  else body.fileType = f.fileType;
  try {
    const q: unknown = JSON.parse(f.query.trim() || '{}');
    if (q === null || typeof q !== 'object' || Array.isArray(q)) errors.query = 'a JSON object, e.g. {"_tags": "lab"}';
    else body.query = JSON.stringify(q);
  } catch (e) {
    errors.query = `not valid JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
  for (const [key, lo, hi, integer] of NUMBERS) {
    const raw = f[key].trim();
    const v = Number(raw);
    if (raw === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      errors[key] = `${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}`;
    } else {
      body[key] = key === 'failureThreshold' ? v / 100 : v;
    }
  }
  return Object.keys(errors).length ? { errors } : { body, errors };
}
