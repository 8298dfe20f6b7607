/** The device page's data: the device document, its tasks (live while any is pending), its faults. */
import { useEffect, useRef } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import type { Device, Fault, Task } from '../../api/types';
import { usePageVisible, usePolling, useToast } from '../../components';
import { CONNECT_NOW } from '../../devices/bulk';

export function useDeviceDoc(id: string) {
  return useQuery({
    queryKey: ['device', id],
    queryFn: async () => {
      const docs = await api.get<Device[]>('/devices/', { query: { _id: id }, limit: 1 });
      return docs[0] ?? null;
    },
  });
}

/** Tasks of the device, newest first; polled every 1.5 s while one is pending. When a task
 * finishes, the device document is read again so the new values show. */
export function useDeviceTasks(id: string) {
  const qc = useQueryClient();
  const visible = usePageVisible();
  const live = useQuery({
    queryKey: ['tasks', id],
    queryFn: () => api.get<Task[]>('/tasks/', { query: { device: id }, sort: { timestamp: -1 }, limit: 50 }),
    refetchInterval: (q) => (!visible ? false : (q.state.data ?? []).some((t) => t.status === 'pending') ? 1500 : 10_000),
  });
  const finished = (live.data ?? []).filter((t) => t.status !== 'pending').map((t) => t._id).join(',');
  const seen = useRef<string | null>(null);
  useEffect(() => {
    if (seen.current !== null && seen.current !== finished) {
      void qc.invalidateQueries({ queryKey: ['device', id] });
      void qc.invalidateQueries({ queryKey: ['faults', id] });
    }
    seen.current = finished;
  }, [finished, id, qc]);
  return live;
}

export function useDeviceFaults(id: string) {
  return useQuery({
    queryKey: ['faults', id],
    queryFn: () => api.get<Fault[]>('/faults/', { query: { device: id }, sort: { timestamp: -1 } }),
    refetchInterval: usePolling(15_000),
  });
}

/** Queues a task with a connection request (not waited for: the task list shows it finish). */
export function useSendTask(id: string) {
  const qc = useQueryClient();
  const { notify } = useToast();
  return useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api.post<Task & { connectionRequest?: { status: string; detail?: unknown } }>(`/devices/${encodeURIComponent(id)}/tasks`, body, CONNECT_NOW),
    onSuccess: (task, body) => {
      const cr = task?.connectionRequest;
      notify(cr && cr.status !== 'ok' ? 'info' : 'success',
        `${String(body.name)} queued${cr && cr.status !== 'ok' ? ` (connection request: ${cr.status}; it runs at the next inform)` : ''}`);
      void qc.invalidateQueries({ queryKey: ['tasks', id] });
    },
    onError: (e, body) => notify('error', `${String(body.name)}: ${e.message}`),
  });
}
