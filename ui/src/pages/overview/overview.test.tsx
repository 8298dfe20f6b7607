import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import type { Campaign } from '../campaigns/model';
import { Distribution } from './Distribution';
import { addPoint, devicesLink, rowLabel, type Overview } from './model';
import { RunningCampaigns } from './RunningCampaigns';
import { Tiles } from './Tiles';

const OVERVIEW: Overview = {
  at: '2026-12-07T12:00:00.000Z',
  interval: 300,
  devices: { total: 10, online: 5, stale: 3, never: 2 },
  informsLastMinute: 3,
  faults: { open: 4, codes: [{ value: 'cwmp.9002', count: 3 }, { value: 'timeout', count: 1 }] },
  tasksPending: 2,
  firmware: [{ value: 'V1', count: 6 }, { value: null, count: 1 }, { value: null, other: true, count: 3 }],
  models: [{ value: 'Acme BM632w', productClass: 'BM632w', count: 10 }],
  campaigns: { running: 1 },
};

function campaign(id: string, status: Campaign['status'], counts: Partial<Campaign['counts']>, total: number): Campaign {
  return {
    _id: id, fileName: 'fw.bin', fileType: '1 Firmware Upgrade Image', query: '{}', canaryPercent: 10, waveGrowth: 2,
    minWaveSize: 1, maxConcurrent: 5, failureThreshold: 0.2, connectionRequestRate: 20, deviceTimeoutS: 0, status,
    total, currentWave: 0, counts: { pending: 0, queued: 0, downloading: 0, done: 0, failed: 0, cancelled: 0, ...counts },
    waveCounts: {}, reason: status === 'paused' ? { code: 'failure_threshold', wave: 0, failed: 1, size: 2, ratio: 0.5, threshold: 0.2 } : null,
  };
}

describe('overview model', () => {
  it('labels unknown values and the summed tail', () => {
    expect(OVERVIEW.firmware.map(rowLabel)).toEqual(['V1', '(unknown)', 'Other']);
  });

  it('adds one point per answer and keeps the last ones', () => {
    let h = addPoint([], { at: '2026-12-07T12:00:00Z', informsLastMinute: 1 });
    h = addPoint(h, { at: '2026-12-07T12:00:00Z', informsLastMinute: 1 }); // the same answer again
    h = addPoint(h, { at: '2026-12-07T12:00:10Z', informsLastMinute: 4 }, 1);
    expect(h).toEqual([{ at: Date.parse('2026-12-07T12:00:10Z'), informs: 4 }]);
  });

  it('links to a device search in the URL the Devices page reads', () => {
    expect(devicesLink({ productClass: 'A B' })).toBe('/devices?productClass=A+B');
  });
});

describe('Tiles', () => {
  it('shows every count with a label and links online devices to their search', () => {
    render(<MemoryRouter><Tiles o={OVERVIEW} /></MemoryRouter>);
    const list = screen.getByRole('list', { name: 'Fleet summary' });
    expect(within(list).getByLabelText('Online (informed within 5 min): 5')).toHaveAttribute('href', '/devices?seen=5m');
    expect(within(list).getByLabelText('Stale: 3')).toBeInTheDocument();
    expect(within(list).getByLabelText('Never seen: 2')).toHaveAttribute('href', '/devices?seen=never');
    expect(within(list).getByLabelText('Open faults: 4')).toHaveAttribute('href', '/faults');
    expect(within(list).getByLabelText('Informs in the last minute: 3')).toBeInTheDocument();
    expect(within(list).getByLabelText('Pending tasks: 2')).toBeInTheDocument();
  });

  it('has no device search for a window the search does not offer', () => {
    render(<MemoryRouter><Tiles o={{ ...OVERVIEW, interval: 900 }} /></MemoryRouter>);
    expect(screen.getByLabelText('Online (informed within 15 min): 5').tagName).toBe('DIV');
  });
});

describe('Distribution', () => {
  it('gives the chart numbers as a table with shares and links', () => {
    render(
      <MemoryRouter>
        <Distribution title="Models" rows={OVERVIEW.models} link={(r) => devicesLink({ productClass: String(r.productClass) })} />
      </MemoryRouter>,
    );
    const table = screen.getByRole('table', { name: 'Models' });
    const row = within(table).getByRole('row', { name: /Acme BM632w/ });
    expect(within(row).getByRole('link', { name: 'Acme BM632w' })).toHaveAttribute('href', '/devices?productClass=BM632w');
    expect(row).toHaveTextContent('100%');
  });

  it('says when there is nothing to show', () => {
    render(<Distribution title="Firmware" rows={[]} />);
    expect(screen.getByText('No data yet.')).toBeInTheDocument();
  });
});

describe('RunningCampaigns', () => {
  it('lists running and paused campaigns with progress, not finished ones', () => {
    render(
      <MemoryRouter>
        <RunningCampaigns
          campaigns={[
            campaign('fw-a', 'running', { done: 3, failed: 1, downloading: 2, pending: 4 }, 10),
            campaign('fw-b', 'paused', { failed: 1, done: 1, pending: 8 }, 10),
            campaign('fw-c', 'done', { done: 10 }, 10),
          ]}
        />
      </MemoryRouter>,
    );
    expect(screen.getByRole('progressbar', { name: 'Campaign fw-a progress' })).toHaveAttribute('aria-valuenow', '40');
    expect(screen.getByRole('progressbar', { name: 'Campaign fw-b progress' })).toHaveAttribute('aria-valuenow', '20');
    expect(screen.queryByText('fw-c')).toBeNull();
    expect(screen.getByText(/1 of 2 devices failed in the canary \(50% > 20%\)/)).toBeInTheDocument();
  });
});
