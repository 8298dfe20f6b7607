import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { chartRows, lastValue, parameterChoices, rangeBounds, type HistoryResponse } from './history';
import { KpiHistory } from './KpiHistory';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');

describe('history ranges', () => {
  it('gives relative ranges as from/to ending now', () => {
    expect(rangeBounds('1h', { from: '', to: '' }, NOW)).toEqual({ from: '2026-12-07T11:00:00.000Z', to: '2026-12-07T12:00:00.000Z' });
    expect(rangeBounds('7d', { from: '', to: '' }, NOW)).toEqual({ from: '2026-11-30T12:00:00.000Z', to: '2026-12-07T12:00:00.000Z' });
  });

  it('takes a custom range, empty end meaning now, and says what is wrong with a bad one', () => {
    const r = rangeBounds('custom', { from: '2026-12-07T10:00', to: '' }, NOW);
    expect(r).toEqual({ from: new Date('2026-12-07T10:00').toISOString(), to: '2026-12-07T12:00:00.000Z' });
    expect(rangeBounds('custom', { from: '', to: '' }, NOW)).toEqual({ error: 'a start time is needed' });
    expect(rangeBounds('custom', { from: '2026-12-07T10:00', to: '2026-12-07T09:00' }, NOW)).toEqual({ error: 'the start must be before the end' });
  });
});

describe('chart rows', () => {
  it('draws raw samples as their value and down-sampled hours as avg with min and max', () => {
    const { rows, other, downsampled } = chartRows([
      { t: '2026-12-07T11:30:00.000Z', value: 40 },
      { t: '2026-12-07T08:59:00.000Z', value: 7, min: 1, max: 9, avg: 5, n: 4 },
      { t: '2026-12-07T11:31:00.000Z', value: 'up' },
    ]);
    expect(rows).toEqual([
      { t: Date.parse('2026-12-07T08:59:00.000Z'), y: 5, min: 1, max: 9, n: 4 },
      { t: Date.parse('2026-12-07T11:30:00.000Z'), y: 40 },
    ]);
    expect(other).toBe(1);
    expect(downsampled).toBe(1);
  });

  it('lists the parameters with history, keeping the chosen one', () => {
    expect(parameterChoices({ 'B.x': [], 'A.y': [] }, '')).toEqual(['A.y', 'B.x']);
    expect(parameterChoices(undefined, 'C.z')).toEqual(['C.z']);
    expect(lastValue([{ t: 'x', value: 'down' }])).toBe('down');
  });
});

function answer(body: HistoryResponse) {
  const calls: URL[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    calls.push(new URL(url, 'http://console'));
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
  });
  return calls;
}

function panel() {
  return render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <KpiHistory deviceId="OUI-M-S1" />
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('KpiHistory', () => {
  it('says when the device has no history in the range', async () => {
    answer({ device: 'OUI-M-S1', from: '2026-12-06T12:00:00.000Z', to: '2026-12-07T12:00:00.000Z', truncated: false, series: {} });
    panel();
    expect(await screen.findByText('No history for this device in this range.')).toBeInTheDocument();
  });

  it('asks for the first parameter with history and draws it, telling when the answer was cut', async () => {
    const calls = answer({
      device: 'OUI-M-S1', from: '2026-12-06T12:00:00.000Z', to: '2026-12-07T12:00:00.000Z', truncated: true,
      series: { 'A.cpu': [{ t: '2026-12-07T11:00:00.000Z', value: 3 }, { t: '2026-12-07T11:01:00.000Z', value: 4 }], 'B.up': [] },
    });
    panel();
    expect(await screen.findByRole('img', { name: 'History of A.cpu' })).toBeInTheDocument();
    expect(screen.getByLabelText('Parameter')).toHaveValue('A.cpu');
    expect(screen.getAllByRole('status')[0]).toHaveTextContent(/Only the first 20,000 points/);
    const asked = calls.find((u) => u.searchParams.get('parameters') === 'A.cpu');
    expect(asked?.pathname).toBe('/api/devices/OUI-M-S1/history');
    expect(asked?.searchParams.get('limit')).toBe('20000');
  });
});
