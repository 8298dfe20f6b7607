import type { Task } from '../../api/types';
import { dateTime } from '../../components';

const NAMES: Record<string, string> = {
  ipPing: 'Ping', traceRoute: 'Traceroute', downloadDiagnostics: 'Download test', uploadDiagnostics: 'Upload test',
};

function show(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The latest result of each diagnostic the device ran (the task's result: state and figures). */
export function DiagnosticsResults({ tasks }: { tasks: Task[] | undefined }) {
  const latest = new Map<string, Task>();
  for (const t of tasks ?? []) {
    if (t.name in NAMES && !latest.has(t.name) && t.status !== 'pending') latest.set(t.name, t);
  }
  const running = (tasks ?? []).filter((t) => t.name in NAMES && t.status === 'pending');
  if (latest.size === 0 && running.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="diag-title">
      <h2 id="diag-title">Diagnostics results</h2>
      {running.map((t) => <p key={t._id} role="status">{NAMES[t.name]} running…</p>)}
      {[...latest.values()].map((t) => {
        const r = (t.result ?? {}) as { diagnosticsState?: string; results?: Record<string, unknown> };
        return (
          <div key={t._id} className="diag" aria-label={`${NAMES[t.name]} result`} role="group">
            <h3>{NAMES[t.name]} <span className="muted">{dateTime(t.completedAt as string | undefined)}</span></h3>
            {t.fault ? <p className="error">{t.fault.code} {t.fault.message}</p> : (
              <dl className="summary">
                <dt>State</dt><dd data-testid={`diag-state-${t.name}`}>{r.diagnosticsState ?? ''}</dd>
                {Object.entries(r.results ?? {}).map(([k, v]) => (
                  <div key={k} style={{ display: 'contents' }}><dt>{k}</dt><dd className="mono">{show(v)}</dd></div>
                ))}
              </dl>
            )}
          </div>
        );
      })}
    </section>
  );
}
