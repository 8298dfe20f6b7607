/** Presets as the NBI stores them (GenieACS shape) and the editor's text form of one. */

export interface Preset {
  _id: string;
  weight?: number;
  channel?: string;
  schedule?: string;
  events?: Record<string, boolean>;
  precondition?: string;
  configurations?: unknown[];
  declarations?: unknown[];
}

/** A starting point for a new preset: set the periodic inform interval on BOOT. */
export const TEMPLATE: Omit<Preset, '_id'> = {
  weight: 0,
  channel: 'default',
  events: { '1 BOOT': true },
  precondition: '{"_tags": "lab"}',
  configurations: [{ type: 'value', name: 'InternetGatewayDevice.ManagementServer.PeriodicInformInterval', value: 300 }],
};

/** The editor text of a preset: its body without `_id`, the precondition as an object when it is JSON. */
export function toText(p: Omit<Preset, '_id'> & { _id?: string }): string {
  const { _id: _ignored, ...body } = p;
  const pre = body.precondition;
  if (typeof pre === 'string' && pre.trim()) {
    try {
      return JSON.stringify({ ...body, precondition: JSON.parse(pre) }, null, 2);
    } catch {
      // keep the string as stored
    }
  }
  return JSON.stringify(body, null, 2);
}

/** The editor text as the PUT body; a local JSON error says where (the NBI checks the rest). */
export function parseText(text: string): { body?: Record<string, unknown>; error?: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'a preset is a JSON object' };
  return { body: v as Record<string, unknown> };
}

export function validName(name: string): boolean {
  return name.trim().length > 0 && name.length <= 256 && !/[/\s]/.test(name);
}

/** Events a preset triggers on, as one line. */
export function eventsText(e: Preset['events']): string {
  return Object.entries(e ?? {})
    .filter(([, on]) => on)
    .map(([k]) => k)
    .join(', ');
}
