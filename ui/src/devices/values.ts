/**
 * Checking a typed value before it is sent with SetParameterValues (the NBI checks again): the
 * operator hears at once that "abc" is no xsd:unsignedInt, and the value goes out typed.
 */

const INT_RANGES: Record<string, [bigint, bigint]> = {
  'xsd:int': [-(2n ** 31n), 2n ** 31n - 1n],
  'xsd:unsignedInt': [0n, 2n ** 32n - 1n],
  'xsd:long': [-(2n ** 63n), 2n ** 63n - 1n],
  'xsd:unsignedLong': [0n, 2n ** 64n - 1n],
  'xsd:byte': [-128n, 127n],
  'xsd:unsignedByte': [0n, 255n],
  'xsd:short': [-(2n ** 15n), 2n ** 15n - 1n],
  'xsd:unsignedShort': [0n, 2n ** 16n - 1n],
  'xsd:integer': [-(2n ** 63n), 2n ** 64n - 1n],
};
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export type Checked = { ok: true; value: string | number | boolean } | { ok: false; message: string };

/** `raw` (what the operator typed) as a value of `xsd`, or why it is not one. */
export function checkValue(raw: string, xsd: string | undefined): Checked {
  const type = xsd ?? 'xsd:string';
  const t = raw.trim();
  if (type in INT_RANGES) {
    if (!/^[+-]?\d+$/.test(t)) return { ok: false, message: `${type} needs a whole number` };
    const [lo, hi] = INT_RANGES[type];
    const n = BigInt(t);
    if (n < lo || n > hi) return { ok: false, message: `${type} is from ${lo} to ${hi}` };
    return { ok: true, value: Number.isSafeInteger(Number(n)) ? Number(n) : t };
  }
  switch (type) {
    case 'xsd:boolean':
      if (['true', '1'].includes(t)) return { ok: true, value: true };
      if (['false', '0'].includes(t)) return { ok: true, value: false };
      return { ok: false, message: 'xsd:boolean is true or false' };
    case 'xsd:dateTime':
      return DATETIME.test(t) ? { ok: true, value: t } : { ok: false, message: 'xsd:dateTime looks like 2024-05-01T12:00:00Z' };
    case 'xsd:decimal':
    case 'xsd:double':
    case 'xsd:float':
      return t !== '' && Number.isFinite(Number(t)) ? { ok: true, value: Number(t) } : { ok: false, message: `${type} needs a number` };
    case 'xsd:hexBinary':
      return /^([0-9A-Fa-f]{2})*$/.test(t) ? { ok: true, value: t } : { ok: false, message: 'xsd:hexBinary is pairs of hex digits' };
    case 'xsd:base64':
      return /^[A-Za-z0-9+/]*={0,2}$/.test(t) && t.length % 4 === 0 ? { ok: true, value: t } : { ok: false, message: 'not valid base64' };
    default:
      return { ok: true, value: raw };
  }
}
