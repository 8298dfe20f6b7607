import type { Role } from '../../api/types';
import { routesByRole, type Access } from './model';

const WHAT: Record<Role, string> = {
  readonly: 'reads everything: devices, tasks, faults, files, presets, campaigns',
  operator: 'also queues and retries tasks, tags devices, clears faults, runs campaigns',
  admin: 'also manages files, presets, users and deletes devices',
};

/** What each role may call, read from the NBI's own routes (GET /access). */
export function RoleTable({ access }: { access: Access }) {
  const by = routesByRole(access.routes);
  return (
    <section className="panel" aria-labelledby="roles-title">
      <h2 id="roles-title">What each role may do</h2>
      <p className="muted">Each role may also do everything of the roles above it. The NBI refuses the rest.</p>
      {access.roles.map((r) => (
        <details key={r.role} open={r.role === access.role}>
          <summary>
            <span className={`role role-${r.role}`}>{r.role}</span> {WHAT[r.role]} ({by[r.role].length} routes
            {r.staticTokens !== undefined ? `; ${r.staticTokens} static token${r.staticTokens === 1 ? '' : 's'} from NBI_TOKENS` : ''})
          </summary>
          <table className="compact">
            <caption className="visually-hidden">Routes of the {r.role} role</caption>
            <thead>
              <tr>
                <th scope="col">Method</th>
                <th scope="col">Path</th>
              </tr>
            </thead>
            <tbody>
              {by[r.role].map((x) => (
                <tr key={`${x.method} ${x.path}`}>
                  <td className="mono">{x.method}</td>
                  <td className="mono">{x.path}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ))}
    </section>
  );
}
