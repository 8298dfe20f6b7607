import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { campaignBody, DEFAULT_FORM, progress, reasonText, stillMoving, waveRows, type StateCounts } from './model';
import { WaveChart } from './WaveChart';

const zero: StateCounts = { pending: 0, queued: 0, downloading: 0, done: 0, failed: 0, cancelled: 0 };

describe('campaignBody', () => {
  it('turns the form into the NBI body (threshold in percent becomes a fraction)', () => {
    const { body, errors } = campaignBody({ ...DEFAULT_FORM, name: 'fw-2', fileName: 'fw.bin', query: '{"_tags": "lab"}', failureThreshold: '25' });
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: 'fw-2', fileName: 'fw.bin', fileType: '1 Firmware Upgrade Image', query: '{"_tags":"lab"}',
      canaryPercent: 5, waveGrowth: 2, maxConcurrent: 50, failureThreshold: 0.25, connectionRequestRate: 20,
    });
  });

  it('leaves the name to the NBI when empty', () => {
    expect(campaignBody({ ...DEFAULT_FORM, fileName: 'fw.bin' }).body).not.toHaveProperty('name');
  });

  it('names every bad field and sends nothing', () => {
    const { body, errors } = campaignBody({
      ...DEFAULT_FORM, name: 'no spaces', fileName: '', fileType: 'firmware', query: '{"_tags":', canaryPercent: '0',
      waveGrowth: 'x', maxConcurrent: '2.5', failureThreshold: '101', connectionRequestRate: '',
    });
    expect(body).toBeUndefined();
    expect(Object.keys(errors).sort()).toEqual(
      ['canaryPercent', 'connectionRequestRate', 'failureThreshold', 'fileName', 'fileType', 'maxConcurrent', 'name', 'query', 'waveGrowth'],
    );
    expect(errors.query).toMatch(/not valid JSON/);
    expect(errors.maxConcurrent).toBe('an integer from 1 to 100000');
  });

  it('refuses a query that is not an object', () => {
    expect(campaignBody({ ...DEFAULT_FORM, fileName: 'f', query: '[1]' }).errors.query).toMatch(/JSON object/);
  });
});

describe('progress and waves', () => {
  it('counts finished devices (done, failed, cancelled) of the total', () => {
    expect(progress({ total: 8, counts: { ...zero, done: 3, failed: 1, cancelled: 2, downloading: 2 } })).toEqual({ finished: 6, total: 8, fraction: 0.75 });
    expect(progress({ total: 0, counts: zero }).fraction).toBe(0);
  });

  it('orders waves numerically and names the canary', () => {
    const rows = waveRows({ waveCounts: { '10': { ...zero, done: 1 }, '0': { ...zero, done: 2, failed: 1 }, '2': { ...zero, downloading: 4 } } });
    expect(rows.map((r) => [r.wave, r.size])).toEqual([['Canary', 3], ['Wave 2', 4], ['Wave 10', 1]]);
  });

  it('keeps polling while transfers of a stopped campaign finish', () => {
    expect(stillMoving({ status: 'aborted', counts: { ...zero, downloading: 1 } })).toBe(true);
    expect(stillMoving({ status: 'done', counts: { ...zero, done: 3 } })).toBe(false);
    expect(stillMoving({ status: 'paused', counts: zero })).toBe(true);
  });

  it('explains a threshold pause', () => {
    expect(reasonText({ status: 'paused', reason: { code: 'failure_threshold', wave: 1, failed: 3, size: 10, ratio: 0.3, threshold: 0.1 } }))
      .toBe('paused: 3 of 10 devices failed in wave 1 (30% > 10%)');
    expect(reasonText({ status: 'paused', reason: { code: 'operator' } })).toBe('paused by an operator');
  });
});

describe('WaveChart', () => {
  it('gives each wave its counts in a table', () => {
    render(<WaveChart label="fw devices per wave" rows={waveRows({ waveCounts: { '0': { ...zero, done: 1, failed: 1 }, '1': { ...zero, downloading: 3, queued: 1 } } })} />);
    const table = screen.getByRole('table', { name: 'fw devices per wave' });
    const canary = within(table).getByRole('row', { name: /Canary/ });
    expect(within(canary).getAllByRole('cell').map((c) => c.textContent)).toEqual(['2', '0', '0', '1', '1', '0']);
    const wave1 = within(table).getByRole('row', { name: /Wave 1/ });
    expect(within(wave1).getAllByRole('cell').map((c) => c.textContent)).toEqual(['4', '1', '3', '0', '0', '0']);
  });

  it('says when no wave has started', () => {
    render(<WaveChart label="x" rows={[]} />);
    expect(screen.getByText('No wave has started yet.')).toBeInTheDocument();
  });
});
