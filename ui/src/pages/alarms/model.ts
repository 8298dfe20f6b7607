/**
 * Alarms and alarm rules as the NBI shows them (docs/monitoring.md): the Alarms page's filter
 * (kept in the URL) as /alarms parameters, and the rule form as the PUT /alarm-rules/<name> body.
 */
import type { Query } from '../../api/client';

/** One alarm document (`<device id>:<rule>`), as the telemetry writer stores it. */
export interface Alarm {
  _id: string;
  device: string;
  rule: string;
  kind?: string;
  severity?: string;
  state: 'raised' | 'cleared';
  raisedAt?: string;
  clearedAt?: string;
  parameter?: string;
  value?: unknown;
  message?: string;
  acknowledged?: boolean;
  ackedAt?: string;
  /** Who acknowledged it: the token's fingerprint and role, the user where there is one. */
  ackedBy?: { token: string; role: string; user?: string; tenant?: string };
}

export type RuleKind = 'threshold' | 'rate' | 'missing-informs';

/** A stored alarm rule (GET /alarm-rules). */
export interface AlarmRule {
  _id: string;
  kind: RuleKind;
  parameter?: string;
  op?: string;
  value?: number;
  clearValue?: number;
  missingS?: number;
  severity?: string;
  model?: string;
  enabled?: boolean;
  description?: unknown;
}

export const KINDS: Array<[string, string]> = [
  ['threshold', 'threshold (value against a limit)'],
  ['rate', 'rate (change per second)'],
  ['missing-informs', 'missing Informs (silence)'],
];
export const OPS: Array<[string, string]> = ['>', '>=', '<', '<=', '==', '!='].map((o) => [o, o]);
export const SEVERITIES: Array<[string, string]> = ['critical', 'major', 'minor', 'warning'].map((s) => [s, s]);

/** The Alarms page's search: state (raised, cleared), acknowledged (yes, no), rule and device. */
export interface AlarmFilter {
  state: '' | 'raised' | 'cleared';
  acknowledged: '' | 'true' | 'false';
  rule: string;
  device: string;
}

export const EMPTY_FILTER: AlarmFilter = { state: '', acknowledged: '', rule: '', device: '' };

export function fromParams(p: URLSearchParams): AlarmFilter {
  const state = p.get('state');
  const acked = p.get('acknowledged');
  return {
    state: state === 'raised' || state === 'cleared' ? state : '',
    acknowledged: acked === 'true' || acked === 'false' ? acked : '',
    rule: p.get('rule') ?? '',
    device: p.get('device') ?? '',
  };
}

export function toParams(f: AlarmFilter): Record<string, string> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.trim()]).filter(([, v]) => v !== '')) as Record<string, string>;
}

/** GET /alarms parameters of a filter and a page (one row more than shown tells a next page exists). */
export function alarmQuery(f: AlarmFilter, pageIndex: number, pageSize: number): Query {
  return { ...toParams(f), skip: pageIndex * pageSize, limit: pageSize + 1 };
}

/** What an alarm's state column says: raised or cleared, and whether someone acknowledged it. */
export function stateText(a: Pick<Alarm, 'state' | 'acknowledged'>): string {
  return a.acknowledged ? `${a.state}, acknowledged` : a.state;
}

/** An alarm an operator may still acknowledge. */
export function canAck(a: Pick<Alarm, 'acknowledged'>): boolean {
  return !a.acknowledged;
}

export function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The rule form's fields, all text (numbers are parsed on submit). */
export interface RuleDraft {
  name: string;
  kind: RuleKind;
  parameter: string;
  op: string;
  value: string;
  clearValue: string;
  missingS: string;
  severity: string;
  model: string;
  enabled: boolean;
  description: string;
}

export const NEW_RULE: RuleDraft = {
  name: '', kind: 'threshold', parameter: '', op: '>', value: '', clearValue: '', missingS: '', severity: 'major',
  model: '', enabled: true, description: '',
};

export function draftOf(r: AlarmRule): RuleDraft {
  const num = (n: number | undefined) => (n === undefined || n === null ? '' : String(n));
  return {
    name: r._id, kind: r.kind, parameter: r.parameter ?? '', op: r.op ?? '>', value: num(r.value),
    clearValue: num(r.clearValue), missingS: num(r.missingS), severity: r.severity ?? 'major', model: r.model ?? '',
    enabled: r.enabled !== false, description: typeof r.description === 'string' ? r.description : '',
  };
}

/** A number when the text is one, else the text itself, so the NBI names the field it refuses. */
function numberOrText(s: string): number | string {
  const t = s.trim();
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

/**
 * The PUT body of a draft: only the fields its kind uses, empty ones left out. The NBI validates
 * it (required fields per kind, numbers, the parameter name) and its 400 is shown by the form.
 */
export function ruleBody(d: RuleDraft): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: d.kind, severity: d.severity };
  if (d.kind === 'missing-informs') {
    if (d.missingS.trim()) body.missingS = numberOrText(d.missingS);
  } else {
    if (d.parameter.trim()) body.parameter = d.parameter.trim();
    body.op = d.op;
    if (d.value.trim()) body.value = numberOrText(d.value);
    if (d.clearValue.trim()) body.clearValue = numberOrText(d.clearValue);
  }
  if (d.model.trim()) body.model = d.model.trim();
  if (!d.enabled) body.enabled = false;
  if (d.description.trim()) body.description = d.description.trim();
  return body;
}

/** The NBI's rule-name rule, checked before sending: 1-64 letters, digits, '_', '-' or '.'. */
export function validRuleName(name: string): boolean {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name);
}

/** A rule in one line for the rules table: "CPU > 90 (clears < 80)", "no Inform for 600 s". */
export function ruleText(r: AlarmRule): string {
  if (r.kind === 'missing-informs') return `no Inform for ${r.missingS ?? '?'} s`;
  const unit = r.kind === 'rate' ? '/s' : '';
  const clear = r.clearValue !== undefined && r.clearValue !== null ? ` (clears at ${r.clearValue}${unit})` : '';
  return `${r.parameter ?? '?'} ${r.kind === 'rate' ? 'changes ' : ''}${r.op ?? '>'} ${r.value ?? '?'}${unit}${clear}`;
}

/** The nav counts active alarms up to this many, then says "99+". */
export const ACTIVE_LIMIT = 100;

export function activeCountText(n: number): string {
  if (n <= 0) return '';
  return n >= ACTIVE_LIMIT ? `${ACTIVE_LIMIT - 1}+` : String(n);
}

/** The state badge's hover text: when it cleared, and who acknowledged it when. */
export function stateTitle(a: Alarm, at: (iso: string) => string): string | undefined {
  const parts: string[] = [];
  if (a.clearedAt) parts.push(`cleared ${at(a.clearedAt)}`);
  if (a.acknowledged && a.ackedAt) {
    const by = a.ackedBy ? ` by ${a.ackedBy.user ?? `token ${a.ackedBy.token}`} (${a.ackedBy.role})` : '';
    parts.push(`acknowledged ${at(a.ackedAt)}${by}`);
  }
  return parts.length ? parts.join('; ') : undefined;
}
