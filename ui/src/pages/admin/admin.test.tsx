import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { RoleTable } from './RoleTable';
import { routesByRole, tokenState, userBody, type Access } from './model';

const ACCESS: Access = {
  role: 'operator',
  roles: [{ role: 'readonly', rank: 0 }, { role: 'operator', rank: 1 }, { role: 'admin', rank: 2 }],
  routes: [
    { method: 'GET', path: '/devices/', role: 'readonly' },
    { method: 'POST', path: '/devices/{device_id}/tasks', role: 'operator' },
    { method: 'POST', path: '/campaigns/{cid}/abort', role: 'operator' },
    { method: 'PUT', path: '/files/{name}', role: 'admin' },
  ],
};

describe('userBody', () => {
  const form = { name: 'noc-1', role: 'operator' as const, password: 'long enough pw', tenant: '', scope: '', disabled: false };

  it('sends role, disabled and the password of a new user', () => {
    expect(userBody(form, true)).toEqual({ body: { role: 'operator', disabled: false, password: 'long enough pw' }, errors: {} });
  });

  it('keeps the password of an existing user when none is typed and clears an emptied scope', () => {
    expect(userBody({ ...form, password: '' }, false).body).toEqual({ role: 'operator', disabled: false, scope: null });
  });

  it('requires a 10-character password for a new user and a JSON object scope', () => {
    const { body, errors } = userBody({ ...form, name: 'bad name', password: 'short', scope: '[1]' }, true);
    expect(body).toBeUndefined();
    expect(errors).toEqual({ name: "1-128 letters, digits, '_', '.', '@' or '-'", password: 'at least 10 characters', scope: 'a device query (JSON object)' });
  });

  it('passes tenant and scope through', () => {
    expect(userBody({ ...form, tenant: 'north', scope: '{"_tags":"north"}' }, true).body).toMatchObject({ tenant: 'north', scope: '{"_tags":"north"}' });
  });
});

describe('tokens and routes', () => {
  it('says whether a token is active, expired or revoked', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    expect(tokenState({ revoked: false, expiresAt: '2026-12-08T00:00:00Z' }, now)).toBe('active');
    expect(tokenState({ revoked: false, expiresAt: '2026-12-01T00:00:00Z' }, now)).toBe('expired');
    expect(tokenState({ revoked: true, expiresAt: '2026-12-08T00:00:00Z' }, now)).toBe('revoked');
  });

  it('groups routes by the role they need', () => {
    const by = routesByRole(ACCESS.routes);
    expect(by.operator.map((r) => r.path)).toEqual(['/devices/{device_id}/tasks', '/campaigns/{cid}/abort']);
    expect(by.admin).toHaveLength(1);
  });
});

describe('RoleTable', () => {
  it("lists each role's routes, the signed-in role's open", () => {
    render(<RoleTable access={ACCESS} />);
    const operator = screen.getByRole('table', { name: 'Routes of the operator role' });
    expect(within(operator).getAllByRole('row')).toHaveLength(3);
    expect(operator.closest('details')).toHaveAttribute('open');
    expect(screen.getByRole('table', { name: 'Routes of the admin role' }).closest('details')).not.toHaveAttribute('open');
  });

  it('shows static token counts when the NBI gives them (admins)', () => {
    render(<RoleTable access={{ ...ACCESS, roles: ACCESS.roles.map((r) => ({ ...r, staticTokens: r.rank === 2 ? 1 : 2 })) }} />);
    expect(screen.getByText(/1 static token from NBI_TOKENS/)).toBeInTheDocument();
    expect(screen.getAllByText(/2 static tokens from NBI_TOKENS/)).toHaveLength(2);
  });
});
