/**
 * Reading a GenieACS-layout device document: the same facts live under TR-098
 * (InternetGatewayDevice.) or TR-181 (Device.) paths, so each is looked up in both.
 */
import type { Device, ParamLeaf } from '../api/types';

const ROOTS = ['InternetGatewayDevice', 'Device'] as const;

function both(rel: string): string[] {
  return ROOTS.map((r) => `${r}.${rel}`);
}

/** Parameter paths of what the device list and summary show, TR-098 first. */
export const PATHS = {
  softwareVersion: both('DeviceInfo.SoftwareVersion'),
  hardwareVersion: both('DeviceInfo.HardwareVersion'),
  modelName: both('DeviceInfo.ModelName'),
  manufacturer: both('DeviceInfo.Manufacturer'),
  upTime: both('DeviceInfo.UpTime'),
  wanIp: [
    'InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress',
    'InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1.ExternalIPAddress',
    'Device.IP.Interface.1.IPv4Address.1.IPAddress',
  ],
  connectionRequestUrl: both('ManagementServer.ConnectionRequestURL'),
} satisfies Record<string, string[]>;

/** The node at a dotted path of a device document, or undefined. */
export function nodeAt(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The first of `paths` that holds a value (`_value`), or undefined. */
export function paramValue(device: Device | undefined, paths: string[]): unknown {
  if (!device) return undefined;
  for (const p of paths) {
    const leaf = nodeAt(device, p) as ParamLeaf | undefined;
    if (leaf && typeof leaf === 'object' && '_value' in leaf && leaf._value !== undefined && leaf._value !== null) {
      return leaf._value;
    }
  }
  return undefined;
}

export function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v);
}

/** The projection the device list asks for: only what its columns show. */
export const LIST_PROJECTION = [
  '_id',
  '_deviceId',
  '_lastInform',
  '_tags',
  ...PATHS.softwareVersion,
  ...PATHS.modelName,
  ...PATHS.wanIp,
].join(',');

export type Presence = 'online' | 'stale' | 'never';

/** How recently a device was heard from: online within `onlineMs` (default 5 min), else stale, or never. */
export function presence(lastInform: string | undefined, now = Date.now(), onlineMs = 5 * 60_000): Presence {
  if (!lastInform) return 'never';
  const t = Date.parse(lastInform);
  if (Number.isNaN(t)) return 'never';
  return now - t <= onlineMs ? 'online' : 'stale';
}
