import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, setToken, setUnauthorizedHandler } from '../api/client';
import type { Role } from '../api/types';
import { AuthContext, type AuthState } from './context';
import { isRole, roleCan } from './permissions';

const STORAGE_KEY = 'acs-console-token';

interface WhoAmI {
  role: string;
  user?: string | null;
  kind?: string;
}

interface LoginAnswer {
  token: string;
}

/** Asks the NBI who a token is; an ApiError (401) when it is nobody. */
export async function fetchIdentity(token: string): Promise<{ role: Role; user: string | null; session: boolean }> {
  setToken(token);
  try {
    const me = await api.get<WhoAmI>('/whoami');
    if (!isRole(me.role)) throw new Error(`unknown role ${String(me.role)}`);
    return { role: me.role, user: me.user ?? null, session: me.kind === 'session' };
  } catch (e) {
    setToken(null);
    throw e;
  }
}

/** Asks the NBI which role a token has; an ApiError (401) when it has none. */
export async function fetchRole(token: string): Promise<Role> {
  return (await fetchIdentity(token)).role;
}

/** A session token handed back by single sign-on in the URL fragment (`#token=...`), taken out
 * of the address bar at once so it is neither bookmarked nor kept in the history. */
function tokenFromFragment(): string | null {
  const hash = window.location.hash.startsWith('#') ? window.location.hash.slice(1) : '';
  const token = new URLSearchParams(hash).get('token');
  if (token) window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return token;
}

/**
 * Holds the signed-in credential (sessionStorage: gone with the tab, never in a URL) and its role.
 * The credential is an NBI token: a static or API token pasted in, or the session token of a
 * user's sign-in (password or single sign-on). The NBI refuses what the role may not do anyway.
 */
export function AuthProvider({ children }: { children: ReactNode }) {
  const [role, setRole] = useState<Role | null>(null);
  const [user, setUser] = useState<string | null>(null);
  const [session, setSession] = useState(false);
  const [checking, setChecking] = useState<boolean>(
    () => sessionStorage.getItem(STORAGE_KEY) !== null || window.location.hash.includes('token='),
  );

  const forget = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setToken(null);
    setRole(null);
    setUser(null);
    setSession(false);
  }, []);

  const signOut = useCallback(() => {
    if (session) {
      // a user's session ends at the NBI too (its token is revoked), then here
      api.post('/logout').catch(() => undefined).finally(forget);
    } else {
      forget();
    }
  }, [session, forget]);

  const signIn = useCallback(async (token: string) => {
    const who = await fetchIdentity(token.trim());
    sessionStorage.setItem(STORAGE_KEY, token.trim());
    setRole(who.role);
    setUser(who.user);
    setSession(who.session);
    return who.role;
  }, []);

  const signInWithPassword = useCallback(
    async (username: string, password: string) => {
      setToken(null);
      const answer = await api.post<LoginAnswer>('/login', { username, password });
      return signIn(answer.token);
    },
    [signIn],
  );

  useEffect(() => {
    setUnauthorizedHandler(forget);
    const saved = tokenFromFragment() ?? sessionStorage.getItem(STORAGE_KEY);
    if (saved) {
      signIn(saved)
        .catch(() => forget())
        .finally(() => setChecking(false));
    }
    return () => setUnauthorizedHandler(null);
  }, [forget, signIn]);

  const value = useMemo<AuthState>(
    () => ({ role, user, checking, can: (a) => roleCan(role, a), signIn, signInWithPassword, signOut }),
    [role, user, checking, signIn, signInWithPassword, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
