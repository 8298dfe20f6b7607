import { describe, expect, it } from 'vitest';
import { EMPTY, faultQuery, fromParams, taskOf, toParams } from './model';

describe('fault search', () => {
  it('matches a device id substring literally, code and channel exactly', () => {
    expect(faultQuery({ device: ' 00A0C6-IGD.1 ', code: 'cwmp.9002', channel: '' })).toEqual({
      device: { $regex: '00A0C6-IGD\\.1' }, code: 'cwmp.9002',
    });
    expect(faultQuery(EMPTY)).toEqual({});
  });

  it('round-trips through the URL, leaving out empty fields', () => {
    const f = { device: 'abc', code: '', channel: 'default' };
    const p = new URLSearchParams(toParams(f));
    expect(p.toString()).toBe('device=abc&channel=default');
    expect(fromParams(p)).toEqual(f);
  });
});

describe('taskOf', () => {
  it("gives the task id of a task's fault and nothing for a preset's", () => {
    expect(taskOf({ channel: 'task_65f0c0ffee00000000000001' })).toBe('65f0c0ffee00000000000001');
    expect(taskOf({ channel: 'default' })).toBeNull();
    expect(taskOf({ channel: 'task_nothex' })).toBeNull();
  });
});
