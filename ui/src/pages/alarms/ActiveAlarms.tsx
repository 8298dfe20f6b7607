import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { usePolling } from '../../components';
import { activeCountText, ACTIVE_LIMIT, type Alarm } from './model';

/**
 * The nav's count of raised, unacknowledged alarms: one GET /alarms (at most ACTIVE_LIMIT rows)
 * every 30 s while the tab is visible, shared by every page through its query key.
 */
export function ActiveAlarmsBadge() {
  const active = useQuery({
    queryKey: ['active-alarms'],
    queryFn: () => api.get<Alarm[]>('/alarms', { state: 'raised', acknowledged: 'false', limit: ACTIVE_LIMIT }),
    refetchInterval: usePolling(30_000),
    retry: false,
  });
  const text = activeCountText(active.data?.length ?? 0);
  if (!text) return null;
  return (
    <span className="nav-count" aria-label={`${text} active alarms`}>
      {text}
    </span>
  );
}
