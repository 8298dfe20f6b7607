/** What the Admin page reads: /whoami, /access (routes per role), /users and /tokens. */
import type { Role } from '../../api/types';

export interface WhoAmI {
  role: Role;
  user?: string | null;
  tenant?: string | null;
  scope?: string[];
  kind?: string;
}

export interface RouteRole {
  method: string;
  path: string;
  role: Role;
}

export interface Access {
  role: Role;
  roles: Array<{ role: Role; rank: number; staticTokens?: number }>;
  routes: RouteRole[];
}

export interface User {
  name: string;
  role: Role;
  tenant?: string | null;
  scope?: string | null;
  disabled: boolean;
  source?: string;
  created?: string | null;
  lockedUntil?: string | null;
  lastLogin?: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  user: string;
  kind: string;
  role: Role;
  scope?: string | null;
  created?: string;
  expiresAt: string;
  lastUsed?: string | null;
  revoked: boolean;
  expired?: boolean;
  token?: string;
}

const ROLES: Role[] = ['readonly', 'operator', 'admin'];

/** The routes each role gains over the one below it (a role may also call everything below). */
export function routesByRole(routes: RouteRole[]): Record<Role, RouteRole[]> {
  const out: Record<Role, RouteRole[]> = { readonly: [], operator: [], admin: [] };
  for (const r of routes) if (ROLES.includes(r.role)) out[r.role].push(r);
  return out;
}

export interface UserForm {
  name: string;
  role: Role;
  password: string;
  tenant: string;
  scope: string;
  disabled: boolean;
}

/**
 * The PUT /users/{name} body: role and disabled always; password only when typed (10+
 * characters, the NBI's minimum; required for a new user); tenant and scope when given.
 */
export function userBody(f: UserForm, creating: boolean): { body?: Record<string, unknown>; errors: Partial<Record<keyof UserForm, string>> } {
  const errors: Partial<Record<keyof UserForm, string>> = {};
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$/.test(f.name)) errors.name = "1-128 letters, digits, '_', '.', '@' or '-'";
  if (f.password || creating) {
    if (f.password.length < 10) errors.password = 'at least 10 characters';
  }
  if (f.scope.trim()) {
    try {
      const q: unknown = JSON.parse(f.scope);
      if (q === null || typeof q !== 'object' || Array.isArray(q)) errors.scope = 'a device query (JSON object)';
    } catch {
      errors.scope = 'not valid JSON';
    }
  }
  if (Object.keys(errors).length) return { errors };
  const body: Record<string, unknown> = { role: f.role, disabled: f.disabled };
  if (f.password) body.password = f.password;
  if (f.tenant.trim()) body.tenant = f.tenant.trim();
  if (f.scope.trim() || !creating) body.scope = f.scope.trim() || null;
  return { body, errors };
}

/** A token's state in words. */
export function tokenState(t: Pick<ApiToken, 'revoked' | 'expiresAt' | 'expired'>, now = Date.now()): 'revoked' | 'expired' | 'active' {
  if (t.revoked) return 'revoked';
  if (t.expired || Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}
