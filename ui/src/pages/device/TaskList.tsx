import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import type { Fault, Task } from '../../api/types';
import { useAuth } from '../../auth';
import { ago, dateTime, useToast } from '../../components';

function describe(t: Task): string {
  if (typeof t.objectName === 'string') return t.objectName || '(everything)';
  if (Array.isArray(t.parameterValues)) return (t.parameterValues as unknown[][]).map((pv) => `${String(pv[0])} = ${String(pv[1])}`).join(', ');
  if (Array.isArray(t.parameterNames)) return (t.parameterNames as string[]).join(', ');
  if (typeof t.fileName === 'string') return t.fileName;
  if (typeof t.host === 'string') return t.host;
  return '';
}

function result(t: Task): string {
  if (t.fault) return `${t.fault.code ?? ''} ${t.fault.message ?? ''}`.trim();
  const r = t.result as Record<string, unknown> | null | undefined;
  if (!r || typeof r !== 'object' || Object.keys(r).length === 0) return '';
  return JSON.stringify(r).slice(0, 400);
}

/** The device's task queue, live: status as it changes, result or fault, retry and delete. */
export function TaskList({ deviceId, tasks }: { deviceId: string; tasks: Task[] | undefined }) {
  const { can } = useAuth();
  const { notify } = useToast();
  const qc = useQueryClient();
  const refresh = () => { void qc.invalidateQueries({ queryKey: ['tasks', deviceId] }); void qc.invalidateQueries({ queryKey: ['faults', deviceId] }); };
  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      notify('success', what);
      refresh();
    } catch (e) {
      notify('error', `${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return (
    <section className="panel" aria-labelledby="tasks-title">
      <h2 id="tasks-title">Tasks</h2>
      <div className="table-scroll">
        <table>
          <caption className="visually-hidden">Tasks of this device, newest first</caption>
          <thead>
            <tr><th scope="col">Task</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Queued</th><th scope="col">Result</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
          </thead>
          <tbody aria-live="polite">
            {(tasks ?? []).map((t) => (
              <tr key={t._id} data-task={t.name}>
                <td>{t.name}</td>
                <td className="mono">{describe(t)}</td>
                <td><span className={`badge badge-${t.status}`} data-testid="task-status">{t.status}</span></td>
                <td title={dateTime(t.timestamp)}>{ago(t.timestamp)}</td>
                <td className="mono">{result(t)}</td>
                <td>
                  {can('operate') && t.status === 'fault' && (
                    <button type="button" onClick={() => act(`Retrying ${t.name}`, () => api.post(`/tasks/${t._id}/retry`))}>Retry</button>
                  )}
                  {can('operate') && (
                    <button type="button" className="danger" onClick={() => act(`Deleted ${t.name}`, () => api.del(`/tasks/${t._id}`))}>Delete</button>
                  )}
                </td>
              </tr>
            ))}
            {(tasks ?? []).length === 0 && <tr><td colSpan={6} className="empty">No tasks</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The device's faults: code, message, retries; retry (a task's) or delete. */
export function FaultList({ deviceId, faults }: { deviceId: string; faults: Fault[] | undefined }) {
  const { can } = useAuth();
  const { notify } = useToast();
  const qc = useQueryClient();
  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      notify('success', what);
      void qc.invalidateQueries({ queryKey: ['faults', deviceId] });
      void qc.invalidateQueries({ queryKey: ['tasks', deviceId] });
    } catch (e) {
      notify('error', `${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return (
    <section className="panel" aria-labelledby="faults-title">
      <h2 id="faults-title">Faults</h2>
      {(faults ?? []).length === 0 ? <p className="muted">No open faults</p> : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Open faults of this device</caption>
            <thead><tr><th scope="col">Channel</th><th scope="col">Code</th><th scope="col">Message</th><th scope="col">Retries</th><th scope="col">Since</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {(faults ?? []).map((f) => {
                const taskId = f.channel.startsWith('task_') ? f.channel.slice(5) : null;
                return (
                  <tr key={f._id}>
                    <td className="mono">{f.channel}</td>
                    <td>{f.code}</td>
                    <td>{f.message}</td>
                    <td>{f.retries ?? 0}</td>
                    <td title={dateTime(f.timestamp)}>{ago(f.timestamp)}</td>
                    <td>
                      {can('operate') && taskId && <button type="button" onClick={() => act('Retrying the task', () => api.post(`/tasks/${taskId}/retry`))}>Retry</button>}
                      {can('operate') && <button type="button" className="danger" onClick={() => act('Fault deleted', () => api.del(`/faults/${encodeURIComponent(f._id)}`))}>Delete</button>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
