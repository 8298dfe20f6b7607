/** The Faults page's search (kept in the URL) as the NBI's fault query, and what a fault allows. */
import type { Fault } from '../../api/types';

export interface FaultFilter {
  device: string;
  code: string;
  channel: string;
}

export const EMPTY: FaultFilter = { device: '', code: '', channel: '' };

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** device: a substring of the device id; code and channel: exact. */
export function faultQuery(f: FaultFilter): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  if (f.device.trim()) q.device = { $regex: escapeRegex(f.device.trim()) };
  if (f.code.trim()) q.code = f.code.trim();
  if (f.channel.trim()) q.channel = f.channel.trim();
  return q;
}

export function fromParams(p: URLSearchParams): FaultFilter {
  return { device: p.get('device') ?? '', code: p.get('code') ?? '', channel: p.get('channel') ?? '' };
}

export function toParams(f: FaultFilter): Record<string, string> {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v.trim() !== '')) as Record<string, string>;
}

/** The task a fault came from (channel `task_<id>`), which can be retried; null for preset faults. */
export function taskOf(fault: Pick<Fault, 'channel'>): string | null {
  const m = /^task_([0-9a-f]{24})$/.exec(fault.channel ?? '');
  return m ? m[1] : null;
}
