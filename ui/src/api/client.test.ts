import { describe, expect, it } from 'vitest';
import { ApiError, buildUrl } from './client';

describe('buildUrl', () => {
  it('prefixes /api and sends objects as JSON, leaving out undefined values', () => {
    const url = buildUrl('/devices/', { query: { _id: 'a' }, limit: 10, skip: undefined });
    expect(url).toBe('/api/devices/?query=%7B%22_id%22%3A%22a%22%7D&limit=10');
  });

  it('accepts a path without a leading slash', () => {
    expect(buildUrl('whoami')).toBe('/api/whoami');
  });
});

describe('ApiError', () => {
  it("says the NBI's status, error and detail in one line", () => {
    const e = new ApiError(403, 'forbidden', 'needs role operator, token has readonly');
    expect(e.message).toBe('403 forbidden: needs role operator, token has readonly');
    expect(e.status).toBe(403);
  });

  it('joins validation messages', () => {
    const e = new ApiError(400, 'invalid request', [{ loc: ['body'], msg: 'field required' }, { msg: 'bad type' }]);
    expect(e.message).toBe('400 invalid request: field required; bad type');
  });
});
