/** Shapes of the NBI's documents that more than one page reads (GenieACS 1.2 layout). */

/** A parameter leaf: value with its xsd type, writability and when it was read. */
export interface ParamLeaf {
  _value?: unknown;
  _type?: string;
  _writable?: boolean;
  _timestamp?: string;
  _object?: boolean;
}

/** A device document: `_id`, `_deviceId`, `_lastInform`, `_tags` and the nested parameter tree. */
export interface Device {
  _id: string;
  _deviceId?: { _OUI?: string; _ProductClass?: string; _SerialNumber?: string; _Manufacturer?: string };
  _lastInform?: string;
  _registered?: string;
  _lastBoot?: string;
  _tags?: string[];
  [key: string]: unknown;
}

export interface Task {
  _id: string;
  device: string;
  name: string;
  status?: string;
  timestamp?: string;
  fault?: { code?: string; message?: string; detail?: unknown } | null;
  [key: string]: unknown;
}

export interface Fault {
  _id: string;
  device: string;
  channel: string;
  code: string;
  message: string;
  detail?: unknown;
  timestamp: string;
  retries?: number;
  [key: string]: unknown;
}

export type Role = 'readonly' | 'operator' | 'admin';
