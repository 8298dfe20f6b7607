import { useEffect, useState, type FormEvent } from 'react';
import { API_BASE, ApiError, api } from '../../api/client';
import { useAuth } from '../../auth';
import { TextField } from '../../components';

interface LoginMethods {
  password: boolean;
  sso: boolean;
  ssoPath: string | null;
}

type Mode = 'token' | 'password';

function message(err: unknown, unknown401: string): string {
  if (err instanceof ApiError && err.status === 401) return unknown401;
  if (err instanceof ApiError && err.status === 429) return 'Too many attempts: wait a minute and try again';
  return err instanceof Error ? err.message : String(err);
}

/**
 * Sign-in: with an NBI token (static NBI_TOKENS or an API token of a user), with a user name and
 * password (a session that expires), or through the operator's identity provider when single
 * sign-on is configured. The role decides what the console offers; the NBI enforces it anyway.
 */
export default function SignInPage() {
  const { signIn, signInWithPassword } = useAuth();
  const [mode, setMode] = useState<Mode>('token');
  const [token, setTokenText] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [methods, setMethods] = useState<LoginMethods | null>(null);

  useEffect(() => {
    api.get<LoginMethods>('/login/methods').then(setMethods, () => setMethods(null));
  }, []);

  async function run(action: () => Promise<unknown>, unknown401: string) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(message(err, unknown401));
    } finally {
      setBusy(false);
    }
  }

  function submitToken(e: FormEvent) {
    e.preventDefault();
    if (!token.trim()) {
      setError('Enter your NBI token');
      return;
    }
    void run(() => signIn(token), 'This token is not known to the NBI');
  }

  function submitPassword(e: FormEvent) {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError('Enter your user name and password');
      return;
    }
    void run(() => signInWithPassword!(username.trim(), password), 'Wrong user name or password');
  }

  return (
    <main className="signin" id="main">
      <form onSubmit={mode === 'token' ? submitToken : submitPassword} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title">ACS console</h1>
        {signInWithPassword && (
          <div role="tablist" aria-label="Sign-in method" className="signin-mode">
            {(['token', 'password'] as const).map((m) => (
              <button key={m} type="button" role="tab" aria-selected={mode === m} className={mode === m ? 'selected' : ''}
                onClick={() => { setMode(m); setError(null); }}>
                {m === 'token' ? 'NBI token' : 'User account'}
              </button>
            ))}
          </div>
        )}
        {mode === 'token' ? (
          <>
            <p>Your role (readonly, operator or admin) decides what you may change.</p>
            <TextField
              label="Token"
              name="token"
              type="password"
              autoComplete="current-password"
              autoFocus
              value={token}
              onChange={(e) => setTokenText(e.target.value)}
              error={error ?? undefined}
            />
          </>
        ) : (
          <>
            <TextField label="User name" name="username" autoComplete="username" autoFocus value={username}
              onChange={(e) => setUsername(e.target.value)} />
            <TextField label="Password" name="password" type="password" autoComplete="current-password" value={password}
              onChange={(e) => setPassword(e.target.value)} error={error ?? undefined} />
          </>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {methods?.sso && methods.ssoPath && (
          <p className="signin-sso">
            <a className="button" href={`${API_BASE}${methods.ssoPath}`}>Single sign-on (your identity provider)</a>
          </p>
        )}
      </form>
    </main>
  );
}
