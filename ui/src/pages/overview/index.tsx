import './overview.css';
import { useEffect, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { ago, dateTime, ErrorNote, PageHeader, SelectField, usePolling } from '../../components';
import type { Campaign } from '../campaigns/model';
import { Distribution } from './Distribution';
import { InformsChart } from './InformsChart';
import { addPoint, devicesLink, INTERVALS, type InformPoint, type Overview } from './model';
import { RunningCampaigns } from './RunningCampaigns';
import { Tiles } from './Tiles';

const REFRESH_MS = 10_000;

/** The fleet at a glance (GET /overview, GET /campaigns), refreshed every 10 s while visible. */
export default function OverviewPage() {
  const [interval, setWindow] = useState('300');
  const poll = usePolling(REFRESH_MS);
  const overview = useQuery({
    queryKey: ['overview', interval],
    queryFn: () => api.get<Overview>('/overview', { interval }),
    refetchInterval: poll,
    placeholderData: keepPreviousData,
  });
  const campaigns = useQuery({
    queryKey: ['campaigns'],
    queryFn: () => api.get<Campaign[]>('/campaigns'),
    refetchInterval: poll,
  });
  const [informs, setInforms] = useState<InformPoint[]>([]);
  const o = overview.data;
  useEffect(() => {
    if (o) setInforms((h) => addPoint(h, o));
  }, [o]);

  return (
    <>
      <PageHeader title="Overview">
        <SelectField label="Online means informed within" value={interval} options={INTERVALS} onChange={(e) => setWindow(e.target.value)} />
      </PageHeader>
      <ErrorNote error={overview.error} />
      {!o ? (
        <p className="loading">Loading…</p>
      ) : (
        <>
          <p className="muted" aria-live="polite">
            As of <time dateTime={o.at} title={dateTime(o.at)}>{ago(o.at)}</time>; refreshed every {REFRESH_MS / 1000} s.
            {o.distributionsAt && (
              <>
                {' '}Firmware and models as of <time dateTime={o.distributionsAt} title={dateTime(o.distributionsAt)}>{ago(o.distributionsAt)}</time>.
              </>
            )}
          </p>
          <Tiles o={o} />
          <div className="grid">
            <RunningCampaigns campaigns={campaigns.data ?? []} />
            <InformsChart points={informs} />
            <Distribution title="Firmware" rows={o.firmware} />
            <Distribution
              title="Models"
              rows={o.models}
              link={(r) => (r.productClass ? devicesLink({ productClass: r.productClass }) : undefined)}
            />
            <Distribution title="Open faults by code" rows={o.faults.codes} link={(r) => (r.other ? undefined : `/faults?code=${encodeURIComponent(String(r.value ?? ''))}`)} />
          </div>
        </>
      )}
    </>
  );
}
