import type { Role } from '../api/types';

/** What a UI action needs, in the NBI's own ranks: read (GET), operate (tasks, tags, campaigns), admin (files, presets, deletes). */
export type Action = 'read' | 'operate' | 'admin';

const RANK: Record<Role, number> = { readonly: 0, operator: 1, admin: 2 };
const NEEDS: Record<Action, number> = { read: 0, operate: 1, admin: 2 };

export function roleCan(role: Role | null, action: Action): boolean {
  return role !== null && RANK[role] >= NEEDS[action];
}

export function isRole(v: unknown): v is Role {
  return v === 'readonly' || v === 'operator' || v === 'admin';
}
