import { describe, expect, it } from 'vitest';
import { EMPTY_FILTER, FilterError, fromSearchParams, isEmpty, toQuery, toSearchParams } from './filters';

const NOW = Date.parse('2026-01-01T12:00:00Z');

describe('toQuery', () => {
  it('is empty for an empty filter', () => {
    expect(toQuery(EMPTY_FILTER, NOW)).toEqual({});
    expect(isEmpty(EMPTY_FILTER)).toBe(true);
  });

  it('matches a serial by prefix as an index range, characters taken literally', () => {
    expect(toQuery({ ...EMPTY_FILTER, serial: ' SN.1+ ' }, NOW)).toEqual({ '_deviceId._SerialNumber': { $gte: 'SN.1+', $lt: 'SN.1+\uffff' } });
  });

  it('combines several conditions with $and', () => {
    const q = toQuery({ ...EMPTY_FILTER, oui: '202BC1', productClass: 'BM632w', tag: 'lab' }, NOW);
    expect(q).toEqual({ $and: [{ '_deviceId._OUI': '202BC1' }, { '_deviceId._ProductClass': 'BM632w' }, { _tags: 'lab' }] });
  });

  it('turns last-inform windows into dates', () => {
    expect(toQuery({ ...EMPTY_FILTER, seen: '1h' }, NOW)).toEqual({ _lastInform: { $gte: '2026-01-01T11:00:00.000Z' } });
    expect(toQuery({ ...EMPTY_FILTER, seen: 'not24h' }, NOW)).toEqual({ _lastInform: { $lt: '2025-12-31T12:00:00.000Z' } });
    expect(toQuery({ ...EMPTY_FILTER, seen: 'never' }, NOW)).toEqual({ _lastInform: { $exists: false } });
  });

  it('builds parameter conditions with typed values', () => {
    const base = { ...EMPTY_FILTER, path: 'Device.DeviceInfo.UpTime' };
    expect(toQuery({ ...base, op: 'gt', value: '3600' }, NOW)).toEqual({ 'Device.DeviceInfo.UpTime': { $gt: 3600 } });
    expect(toQuery({ ...base, op: 'eq', value: 'true' }, NOW)).toEqual({ 'Device.DeviceInfo.UpTime': true });
    expect(toQuery({ ...base, op: 'contains', value: 'a.b' }, NOW)).toEqual({ 'Device.DeviceInfo.UpTime': { $regex: 'a\\.b' } });
    expect(toQuery({ ...base, op: 'exists' }, NOW)).toEqual({ 'Device.DeviceInfo.UpTime': { $exists: true } });
  });

  it('refuses bad input with a clear message', () => {
    expect(() => toQuery({ ...EMPTY_FILTER, path: 'a..b' }, NOW)).toThrow(FilterError);
    expect(() => toQuery({ ...EMPTY_FILTER, path: 'a.b', op: 'gt', value: 'x' }, NOW)).toThrow('"x" is not a number');
    expect(() => toQuery({ ...EMPTY_FILTER, raw: '{nope' }, NOW)).toThrow(/not valid JSON/);
    expect(() => toQuery({ ...EMPTY_FILTER, raw: '[1]' }, NOW)).toThrow('query must be a JSON object');
  });

  it('adds a raw query', () => {
    expect(toQuery({ ...EMPTY_FILTER, tag: 't', raw: '{"_id": "x"}' }, NOW)).toEqual({ $and: [{ _tags: 't' }, { _id: 'x' }] });
  });
});

describe('URL round trip', () => {
  it('keeps only what is set', () => {
    const f = { ...EMPTY_FILTER, serial: 'SN1', path: 'a.b', op: 'ne' as const, value: '1' };
    const p = toSearchParams(f);
    expect(p.toString()).toBe('serial=SN1&path=a.b&op=ne&value=1');
    expect(fromSearchParams(p)).toEqual(f);
  });
});
