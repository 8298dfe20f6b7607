import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { ErrorNote, useToast } from '../../components';
import { draftOf, NEW_RULE, ruleText, type AlarmRule } from './model';
import { RuleForm } from './RuleForm';

export function useAlarmRules() {
  return useQuery({ queryKey: ['alarm-rules'], queryFn: () => api.get<AlarmRule[]>('/alarm-rules') });
}

/** The alarm rules: everyone reads them; admins create, edit and delete (with a confirmation). */
export function AlarmRules({ onShowAlarms }: { onShowAlarms: (rule: string) => void }) {
  const { can } = useAuth();
  const admin = can('admin');
  const toast = useToast();
  const qc = useQueryClient();
  const rules = useAlarmRules();
  const [editing, setEditing] = useState<{ rule: AlarmRule | null } | null>(null);

  const remove = useMutation({
    mutationFn: (name: string) => api.del(`/alarm-rules/${encodeURIComponent(name)}`),
    onSuccess: (_, name) => toast.notify('success', `Alarm rule ${name} deleted`),
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['alarm-rules'] }),
  });

  return (
    <section className="panel" aria-labelledby="rules-title">
      <div className="row spread">
        <h2 id="rules-title">Alarm rules</h2>
        {admin && (
          <button type="button" className="primary" onClick={() => setEditing({ rule: null })}>
            New rule
          </button>
        )}
      </div>
      {!admin && <p className="muted">Changing alarm rules needs the admin role.</p>}
      {editing && (
        <RuleForm
          key={editing.rule?._id ?? '(new)'}
          initial={editing.rule ? draftOf(editing.rule) : NEW_RULE}
          isNew={editing.rule === null}
          onDone={() => setEditing(null)}
        />
      )}
      <ErrorNote error={rules.error} />
      <div className="table-scroll">
        <table className="compact">
          <caption className="visually-hidden">Alarm rules</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Condition</th>
              <th scope="col">Severity</th>
              <th scope="col">Model</th>
              <th scope="col">Enabled</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(rules.data ?? []).map((r) => (
              <tr key={r._id}>
                <td className="mono">{r._id}</td>
                <td>{r.kind}</td>
                <td className="mono">{ruleText(r)}</td>
                <td>{r.severity ?? 'major'}</td>
                <td>{r.model ?? 'any'}</td>
                <td>{r.enabled === false ? 'no' : 'yes'}</td>
                <td>
                  <div className="row">
                    <button type="button" onClick={() => onShowAlarms(r._id)} aria-label={`Alarms of rule ${r._id}`}>
                      Alarms
                    </button>
                    {admin && (
                      <>
                        <button type="button" onClick={() => setEditing({ rule: r })} aria-label={`Edit rule ${r._id}`}>
                          Edit
                        </button>
                        <button
                          type="button"
                          className="danger"
                          disabled={remove.isPending}
                          aria-label={`Delete rule ${r._id}`}
                          onClick={() => {
                            if (window.confirm(`Delete alarm rule ${r._id}? Its raised alarms stay until cleared or acknowledged.`)) remove.mutate(r._id);
                          }}
                        >
                          Delete
                        </button>
                      </>
                    )}
                  </div>
                </td>
              </tr>
            ))}
            {rules.data?.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  No alarm rule yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

