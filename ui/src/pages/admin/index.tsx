import './admin.css';
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { ErrorNote, PageHeader } from '../../components';
import type { Access, WhoAmI } from './model';
import { RoleTable } from './RoleTable';
import { Tokens } from './Tokens';
import { Users } from './Users';

/**
 * Who is signed in, what each role may do, and (admins) users and their API tokens. A static
 * NBI_TOKENS token has no user and so no tokens of its own; the page says so.
 */
export default function AdminPage() {
  const { can } = useAuth();
  const me = useQuery({ queryKey: ['whoami'], queryFn: () => api.get<WhoAmI>('/whoami') });
  const access = useQuery({ queryKey: ['access'], queryFn: () => api.get<Access>('/access') });
  const [tokensOf, setTokensOf] = useState<string | null>(null);
  const w = me.data;
  return (
    <>
      <PageHeader title="Admin" />
      <section className="panel" aria-labelledby="me-title">
        <h2 id="me-title">Signed in</h2>
        <ErrorNote error={me.error} />
        {w && (
          <dl className="summary">
            <dt>Role</dt>
            <dd>
              <span className={`role role-${w.role}`}>{w.role}</span>
            </dd>
            <dt>User</dt>
            <dd>{w.user ?? 'none: a static token from NBI_TOKENS (set when the NBI starts, not changeable here)'}</dd>
            {w.tenant && (
              <>
                <dt>Tenant</dt>
                <dd>{w.tenant}</dd>
              </>
            )}
            <dt>Devices</dt>
            <dd className="mono">{w.scope && w.scope.length ? w.scope.join(' and ') : 'every device'}</dd>
          </dl>
        )}
      </section>
      {w?.user && <Tokens user={w.user} own callerRole={w.role} />}
      {can('admin') ? (
        <>
          <Users onTokens={setTokensOf} />
          {tokensOf && tokensOf !== w?.user && w && <Tokens key={tokensOf} user={tokensOf} own={false} callerRole={w.role} />}
        </>
      ) : (
        <p className="muted">Managing users needs the admin role.</p>
      )}
      {access.data && <RoleTable access={access.data} />}
      <ErrorNote error={access.error} />
    </>
  );
}
