import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../../api/client';
import type { Role } from '../../api/types';
import { ago, dateTime, ErrorNote, SelectField, TextField, useToast } from '../../components';
import { tokenState, type ApiToken } from './model';

const RANK: Record<Role, number> = { readonly: 0, operator: 1, admin: 2 };

/**
 * API tokens of a user: the signed-in user's own, or (admins) a managed user's. A new token's
 * value is shown once, right after creation; the NBI keeps only its hash.
 */
export function Tokens({ user, own, callerRole }: { user: string; own: boolean; callerRole: Role }) {
  const toast = useToast();
  const qc = useQueryClient();
  const query = own ? {} : { user };
  const key = ['tokens', user];
  const tokens = useQuery({ queryKey: key, queryFn: () => api.get<ApiToken[]>('/tokens', query) });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>(callerRole);
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<ApiToken | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);

  const create = useMutation({
    mutationFn: () => api.post<ApiToken>('/tokens', { name, role, expiresInDays: Number(days) }, query),
    onSuccess: (t) => {
      setCreated(t);
      setName('');
      void qc.invalidateQueries({ queryKey: key });
    },
    onError: (e) => setRefusal(e instanceof ApiError ? e.message : String(e)),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.del(`/tokens/${encodeURIComponent(id)}`, query),
    onSuccess: () => toast.notify('success', 'Token revoked'),
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => void qc.invalidateQueries({ queryKey: key }),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setRefusal(null);
    setCreated(null);
    create.mutate();
  }

  const roles = (['readonly', 'operator', 'admin'] as Role[]).filter((r) => RANK[r] <= RANK[callerRole]);
  return (
    <section className="panel" aria-labelledby="tokens-title">
      <h2 id="tokens-title">{own ? 'Your API tokens' : `API tokens of ${user}`}</h2>
      <form className="row" onSubmit={submit} aria-label="New API token">
        <TextField label="Token name" value={name} onChange={(e) => setName(e.target.value)} hint="What it is for, e.g. billing sync" />
        <SelectField label="Token role" value={role} options={roles.map((r) => [r, r])} onChange={(e) => setRole(e.target.value as Role)} />
        <TextField label="Expires in (days)" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create token
        </button>
      </form>
      {refusal && (
        <p className="error" role="alert">
          The NBI refused it: {refusal}
        </p>
      )}
      {created?.token && (
        <div className="notice" role="status">
          <p>
            Token <strong>{created.name || created.id}</strong> created. Copy it now: it is not shown again.
          </p>
          <input aria-label="New token value" className="mono token-value" readOnly value={created.token} onFocus={(e) => e.target.select()} />
        </div>
      )}
      <ErrorNote error={tokens.error} />
      <div className="table-scroll">
        <table>
          <caption className="visually-hidden">{own ? 'Your API tokens' : `API tokens of ${user}`}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(tokens.data ?? []).map((t) => {
              const state = tokenState(t);
              return (
                <tr key={t.id}>
                  <td>{t.name || <span className="mono">{t.id}</span>}</td>
                  <td>{t.kind}</td>
                  <td>{t.role}</td>
                  <td>{state}</td>
                  <td>{dateTime(t.expiresAt)}</td>
                  <td>{t.lastUsed ? ago(t.lastUsed) : 'never'}</td>
                  <td>
                    {state === 'active' && (
                      <button type="button" className="danger" aria-label={`Revoke token ${t.name || t.id}`} onClick={() => revoke.mutate(t.id)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
            {tokens.data?.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  No token yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
