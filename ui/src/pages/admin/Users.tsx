import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../../api/client';
import { ago, dateTime, ErrorNote, SelectField, TextField, useToast } from '../../components';
import { userBody, type User, type UserForm } from './model';

const EMPTY: UserForm = { name: '', role: 'readonly', password: '', tenant: '', scope: '', disabled: false };
const ROLE_OPTIONS: Array<[string, string]> = [['readonly', 'readonly'], ['operator', 'operator'], ['admin', 'admin']];

function UserEditor({ user, onDone }: { user: User | null; onDone: () => void }) {
  const toast = useToast();
  const qc = useQueryClient();
  const creating = user === null;
  const [form, setForm] = useState<UserForm>(
    user ? { name: user.name, role: user.role, password: '', tenant: user.tenant ?? '', scope: user.scope ?? '', disabled: user.disabled } : EMPTY,
  );
  const [errors, setErrors] = useState<ReturnType<typeof userBody>['errors']>({});
  const [refusal, setRefusal] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api.put<User>(`/users/${encodeURIComponent(form.name)}`, body),
    onSuccess: (u) => {
      toast.notify('success', `User ${u.name} ${creating ? 'created' : 'saved'}`);
      void qc.invalidateQueries({ queryKey: ['users'] });
      onDone();
    },
    onError: (e) => setRefusal(e instanceof ApiError ? e.message : String(e)),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setRefusal(null);
    const { body, errors: errs } = userBody(form, creating);
    setErrors(errs);
    if (body) save.mutate(body);
  }
  const set = (key: keyof UserForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="user-editor-title" noValidate>
      <h3 id="user-editor-title">{creating ? 'New user' : `User ${user.name}`}</h3>
      <div className="form-grid">
        <TextField label="User name" value={form.name} readOnly={!creating} onChange={set('name')} error={errors.name} autoComplete="off" />
        <SelectField label="Role" value={form.role} options={ROLE_OPTIONS} onChange={(e) => setForm((f) => ({ ...f, role: e.target.value as UserForm['role'] }))} />
        <TextField
          label={creating ? 'Password' : 'New password'}
          type="password"
          autoComplete="new-password"
          value={form.password}
          onChange={set('password')}
          error={errors.password}
          hint={creating ? 'At least 10 characters' : 'Empty keeps the password; a new one signs the user out everywhere'}
        />
        <TextField label="Tenant" value={form.tenant} onChange={set('tenant')} hint="Empty: no tenant" />
        <TextField label="Scope (device query)" className="mono" value={form.scope} onChange={set('scope')} error={errors.scope} hint='e.g. {"_tags": "region-north"}; empty: every device' />
      </div>
      <label className="inline">
        <input type="checkbox" checked={form.disabled} onChange={(e) => setForm((f) => ({ ...f, disabled: e.target.checked }))} /> Disabled (cannot sign in; its tokens are revoked)
      </label>
      {refusal && (
        <p className="error" role="alert">
          The NBI refused it: {refusal}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={save.isPending}>
          {creating ? 'Create user' : 'Save user'}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Users (admins): list, create, change, disable, delete. */
export function Users({ onTokens }: { onTokens: (user: string) => void }) {
  const toast = useToast();
  const qc = useQueryClient();
  const [editing, setEditing] = useState<User | null | 'new'>(null);
  const users = useQuery({ queryKey: ['users'], queryFn: () => api.get<User[]>('/users') });
  const remove = useMutation({
    mutationFn: (name: string) => api.del(`/users/${encodeURIComponent(name)}`),
    onSuccess: (_, name) => toast.notify('success', `User ${name} deleted; its tokens are revoked`),
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['users'] }),
  });
  if (users.error instanceof ApiError && users.error.status === 404) {
    return (
      <section className="panel" aria-labelledby="users-title">
        <h2 id="users-title">Users</h2>
        <p>This NBI has no stored users: access is by the static tokens of NBI_TOKENS only.</p>
      </section>
    );
  }
  return (
    <section className="panel" aria-labelledby="users-title">
      <div className="row spread">
        <h2 id="users-title">Users</h2>
        <button type="button" className="primary" onClick={() => setEditing('new')}>
          New user
        </button>
      </div>
      {editing !== null && <UserEditor key={editing === 'new' ? '' : editing.name} user={editing === 'new' ? null : editing} onDone={() => setEditing(null)} />}
      <ErrorNote error={users.error} />
      <div className="table-scroll">
        <table>
          <caption className="visually-hidden">Users</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Tenant</th>
              <th scope="col">Scope</th>
              <th scope="col">State</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((u) => {
              const locked = u.lockedUntil && Date.parse(u.lockedUntil) > Date.now();
              return (
                <tr key={u.name}>
                  <td>{u.name}</td>
                  <td>
                    <span className={`role role-${u.role}`}>{u.role}</span>
                  </td>
                  <td>{u.tenant ?? ''}</td>
                  <td className="mono small">{u.scope ?? ''}</td>
                  <td>{u.disabled ? 'disabled' : locked ? `locked until ${dateTime(u.lockedUntil)}` : 'active'}</td>
                  <td title={dateTime(u.lastLogin)}>{u.lastLogin ? ago(u.lastLogin) : 'never'}</td>
                  <td>
                    <div className="row">
                      <button type="button" onClick={() => setEditing(u)} aria-label={`Edit ${u.name}`}>
                        Edit
                      </button>
                      <button type="button" onClick={() => onTokens(u.name)} aria-label={`Tokens of ${u.name}`}>
                        Tokens
                      </button>
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Delete ${u.name}`}
                        onClick={() => {
                          if (window.confirm(`Delete user ${u.name} and revoke its tokens?`)) remove.mutate(u.name);
                        }}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
            {users.data?.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  No user yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
