import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AuthProvider, useAuth } from '../../auth';
import SignInPage from './index';

type Answer = { status?: number; body: unknown };

/** The NBI as the sign-in page sees it: canned answers by "METHOD path", and what was asked. */
function nbi(answers: Record<string, Answer>) {
  const calls: { method: string; path: string; auth: string | null; body: unknown }[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const path = new URL(url, 'http://console').pathname.replace(/^\/api/, '');
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ method, path, auth: headers.Authorization ?? null, body: init.body ? JSON.parse(String(init.body)) : null });
    const a = answers[`${method} ${path}`] ?? { status: 404, body: { error: 'not found' } };
    return new Response(JSON.stringify(a.body), { status: a.status ?? 200, headers: { 'Content-Type': 'application/json' } });
  });
  return calls;
}

function Who() {
  const { role, user } = useAuth();
  return <p>{role ? `signed in: ${role} ${user ?? ''}` : 'signed out'}</p>;
}

function page() {
  return render(
    <AuthProvider>
      <Who />
      <SignInPage />
    </AuthProvider>,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
  window.history.replaceState(null, '', '/');
});

describe('sign-in', () => {
  it('signs a user in with a password: the session token from /login is what later calls carry', async () => {
    const calls = nbi({
      'GET /login/methods': { body: { password: true, token: true, sso: false, ssoPath: null } },
      'POST /login': { body: { token: 'session-1', user: 'ana', role: 'operator' } },
      'GET /whoami': { body: { role: 'operator', user: 'ana', kind: 'session' } },
    });
    page();
    await userEvent.click(screen.getByRole('tab', { name: 'User account' }));
    await userEvent.type(screen.getByLabelText('User name'), 'ana');
    await userEvent.type(screen.getByLabelText('Password'), 'correct horse');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByText('signed in: operator ana');
    expect(calls.find((c) => c.path === '/login')?.body).toEqual({ username: 'ana', password: 'correct horse' });
    expect(calls.find((c) => c.path === '/whoami')?.auth).toBe('Bearer session-1');
    expect(screen.queryByRole('link', { name: /single sign-on/i })).toBeNull(); // none configured
  });

  it('says so when the user name or password is wrong', async () => {
    nbi({ 'POST /login': { status: 401, body: { error: 'invalid user name or password' } } });
    page();
    await userEvent.click(screen.getByRole('tab', { name: 'User account' }));
    await userEvent.type(screen.getByLabelText('User name'), 'ana');
    await userEvent.type(screen.getByLabelText('Password'), 'wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByText('Wrong user name or password');
    expect(screen.getByText('signed out')).toBeTruthy();
  });

  it('offers single sign-on when the NBI has it', async () => {
    nbi({
      'GET /login/methods': { body: { password: true, token: true, sso: true, ssoPath: '/oidc/login' } },
      'GET /whoami': { body: { role: 'admin', user: 'alice', kind: 'session' } },
    });
    page();
    const link = await screen.findByRole('link', { name: /single sign-on/i });
    expect(link.getAttribute('href')).toBe('/api/oidc/login');
  });

  it('signs in with the token single sign-on left in the address, and removes it from there', async () => {
    window.history.replaceState(null, '', '/devices#token=sso-session&user=alice');
    const calls = nbi({ 'GET /whoami': { body: { role: 'admin', user: 'alice', kind: 'session' } } });
    page();
    await screen.findByText('signed in: admin alice');
    expect(calls.find((c) => c.path === '/whoami')?.auth).toBe('Bearer sso-session');
    await waitFor(() => expect(window.location.hash).toBe(''));
    expect(window.location.pathname).toBe('/devices');
  });
});
