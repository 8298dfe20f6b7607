import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, setToken, setUnauthorizedHandler } from '../api/client';
import type { Role } from '../api/types';
import { AuthContext, type AuthState } from './context';
import { isRole, roleCan } from './permissions';

const STORAGE_KEY = 'acs-console-token';

interface WhoAmI {
  role: string;
}

/** Asks the NBI which role a token has; an ApiError (401) when it has none. */
export async function fetchRole(token: string): Promise<Role> {
  setToken(token);
  try {
    const me = await api.get<WhoAmI>('/whoami');
    if (!isRole(me.role)) throw new Error(`unknown role ${String(me.role)}`);
    return me.role;
  } catch (e) {
    setToken(null);
    throw e;
  }
}

/**
 * Holds the signed-in token (sessionStorage: gone with the tab, never in a URL) and its role.
 * The token is the NBI's own credential; the NBI refuses what the role may not do anyway.
 */
export function AuthProvider({ children }: { children: ReactNode }) {
  const [role, setRole] = useState<Role | null>(null);
  const [checking, setChecking] = useState<boolean>(() => sessionStorage.getItem(STORAGE_KEY) !== null);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setToken(null);
    setRole(null);
  }, []);

  const signIn = useCallback(async (token: string) => {
    const r = await fetchRole(token.trim());
    sessionStorage.setItem(STORAGE_KEY, token.trim());
    setRole(r);
    return r;
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(signOut);
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (saved) {
      fetchRole(saved)
        .then(setRole, () => signOut())
        .finally(() => setChecking(false));
    }
    return () => setUnauthorizedHandler(null);
  }, [signOut]);

  const value = useMemo<AuthState>(
    () => ({ role, checking, can: (a) => roleCan(role, a), signIn, signOut }),
    [role, checking, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
