import { createContext, useContext } from 'react';
import type { Role } from '../api/types';
import type { Action } from './permissions';

export interface AuthState {
  /** The signed-in token's role, null before sign-in. */
  role: Role | null;
  /** True while a token kept from an earlier visit is being checked. */
  checking: boolean;
  /** Whether the role may do an action; hide or disable controls with it (the NBI refuses anyway). */
  can: (action: Action) => boolean;
  signIn: (token: string) => Promise<Role>;
  /** Sign in as a stored user (POST /login): the NBI answers an expiring session token. */
  signInWithPassword?: (username: string, password: string) => Promise<Role>;
  /** The signed-in user's name, when the credential belongs to a user (null for a static token). */
  user?: string | null;
  signOut: () => void;
}

export const AuthContext = createContext<AuthState | null>(null);

/** `{ role, can, signIn, signOut }` of the console's sign-in. */
export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside <AuthProvider>');
  return ctx;
}
