import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

/**
 * The signed-in citizen's access token, held in memory only: never in localStorage or sessionStorage,
 * so that it is gone when the tab closes or reloads, and no other tab or later visitor finds it.
 */
export interface Session {
  token: string;
  /** The citizen's national identity number (`helseid://claims/identity/pid`). */
  pid: string | null;
  /** When the token expires, in milliseconds since the epoch. */
  expiresAt: number | null;
}

/** Why the citizen is on the sign-in page again. */
export type SignOutNotice =
  { kind: 'signed-out' } | { kind: 'expired' } | { kind: 'rejected'; code: string | null; requestId: string | null };

interface Auth {
  session: Session | null;
  notice: SignOutNotice | null;
  signIn(token: string): void;
  signOut(notice: SignOutNotice): void;
}

const PID_CLAIM = 'helseid://claims/identity/pid';
// setTimeout takes at most 2^31 - 1 ms; a token that lives longer is checked again then.
const MAX_TIMER_MS = 2_147_483_647;

export class InvalidTokenError extends Error {}

/** Read the claims the app needs from a JWT. The server verifies the signature; the app only reads. */
export function readToken(token: string): Session {
  const payload = token.trim().split('.')[1];
  if (!payload) throw new InvalidTokenError('Dette er ikke et JWT-token.');
  let claims: Record<string, unknown>;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    throw new InvalidTokenError('Tokenets innhold kan ikke leses.');
  }
  const pid = typeof claims[PID_CLAIM] === 'string' ? (claims[PID_CLAIM] as string) : null;
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  return { token: token.trim(), pid, expiresAt };
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<SignOutNotice | null>(null);

  const signIn = useCallback((token: string) => {
    setSession(readToken(token));
    setNotice(null);
  }, []);
  const signOut = useCallback((why: SignOutNotice) => {
    setSession(null);
    setNotice(why);
  }, []);

  useEffect(() => {
    const expiresAt = session?.expiresAt;
    if (expiresAt == null) return undefined;
    let timer: number | undefined;
    const check = () => {
      const left = expiresAt - Date.now();
      if (left <= 0) signOut({ kind: 'expired' });
      else timer = window.setTimeout(check, Math.min(left, MAX_TIMER_MS));
    };
    check();
    return () => window.clearTimeout(timer);
  }, [session, signOut]);

  const value = useMemo(() => ({ session, notice, signIn, signOut }), [session, notice, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (auth === null) throw new Error('useAuth outside AuthProvider');
  return auth;
}
