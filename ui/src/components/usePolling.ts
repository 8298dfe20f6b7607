import { useEffect, useState } from 'react';

/** Whether the tab is visible: polling pauses in a hidden tab so an idle console costs nothing. */
export function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => typeof document === 'undefined' || document.visibilityState !== 'hidden');
  useEffect(() => {
    const on = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', on);
    return () => document.removeEventListener('visibilitychange', on);
  }, []);
  return visible;
}

/**
 * A TanStack Query `refetchInterval` for live views (task status, campaign progress):
 * `intervalMs` while `active` and the tab is visible, else no polling.
 * Use: `useQuery({ ..., refetchInterval: usePolling(2000, running) })`.
 */
export function usePolling(intervalMs: number, active = true): number | false {
  const visible = usePageVisible();
  return active && visible ? intervalMs : false;
}
