import { useEffect, useId, useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router';
import { InvalidTokenError, readToken, useAuth, type SignOutNotice } from '../auth';
import type { AppConfig } from '../config';
import { usePageTitle } from '../page';

/** A sample citizen the development server offers to sign in as. */
interface DemoCitizen {
  id: string;
  nin: string;
  description: string;
}

type DemoState =
  | { kind: 'loading' }
  | { kind: 'ready'; citizens: DemoCitizen[] }
  | { kind: 'failed'; message: string; requestId: string | null };

function NoticeText({ notice }: { notice: SignOutNotice }) {
  if (notice.kind === 'signed-out') return <p role="status">Du er logget ut.</p>;
  if (notice.kind === 'expired') {
    return (
      <div className="notice notice-warning" role="alert">
        <p>Økten din er utløpt. Logg inn på nytt for å fortsette.</p>
      </div>
    );
  }
  return (
    <div className="notice notice-warning" role="alert">
      <p>Tjenesten godtok ikke innloggingen din, for eksempel fordi den er utløpt. Logg inn på nytt.</p>
      <p className="facts">
        Feilkode: <code>{notice.code ?? 'UNAUTHENTICATED'}</code>
        {notice.requestId && (
          <>
            {' '}
            · Forespørsels-ID: <code>{notice.requestId}</code>
          </>
        )}
      </p>
    </div>
  );
}

async function demoRequest<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { accept: 'application/json', ...init?.headers } });
  } catch {
    throw new DemoError('Får ikke kontakt med tjenesten. Prøv igjen om litt.', null);
  }
  const body = (await response.json().catch(() => null)) as (T & { error_description?: string }) | null;
  if (!response.ok || body === null) {
    const reason = body?.error_description ?? `HTTP ${response.status}`;
    throw new DemoError(`Demo-innloggingen svarte med en feil: ${reason}`, response.headers.get('x-request-id'));
  }
  return body;
}

class DemoError extends Error {
  constructor(
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

function DemoSignIn({ onToken }: { onToken: (token: string) => void }) {
  const [state, setState] = useState<DemoState>({ kind: 'loading' });
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<DemoError | null>(null);

  useEffect(() => {
    let current = true;
    demoRequest<{ citizens: DemoCitizen[] }>('/demo/citizens')
      .then((body) => current && setState({ kind: 'ready', citizens: body.citizens }))
      .catch((e: unknown) => {
        const error = e instanceof DemoError ? e : new DemoError(String(e), null);
        if (current) setState({ kind: 'failed', message: error.message, requestId: error.requestId });
      });
    return () => {
      current = false;
    };
  }, []);

  const choose = async (citizen: DemoCitizen) => {
    setBusy(citizen.id);
    setFailure(null);
    try {
      const body = await demoRequest<{ access_token: string }>('/demo/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ citizen: citizen.id }),
      });
      onToken(body.access_token);
    } catch (e) {
      setFailure(e instanceof DemoError ? e : new DemoError(String(e), null));
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby="demo-heading" className="card">
      <h2 id="demo-heading">Demo-innlogging</h2>
      <p>
        Denne tjenesten kjører med utviklingsnøkkel. Velg en av de syntetiske innbyggerne under, så lager tjenesten et
        token for henne eller ham. I produksjon logger du inn med ID-porten, og appen får tokenet derfra.
      </p>
      {state.kind === 'loading' && <p role="status">Henter innbyggere …</p>}
      {state.kind === 'failed' && (
        <div className="notice notice-error" role="alert">
          <p>{state.message}</p>
          {state.requestId && (
            <p className="facts">
              Forespørsels-ID: <code>{state.requestId}</code>
            </p>
          )}
        </div>
      )}
      {state.kind === 'ready' && (
        <ul className="citizen-list">
          {state.citizens.map((citizen) => (
            <li key={citizen.id}>
              <button type="button" disabled={busy !== null} onClick={() => void choose(citizen)}>
                Logg inn som {citizen.description.charAt(0).toLowerCase() + citizen.description.slice(1)}
                <span className="nin">fødselsnummer {citizen.nin}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {failure && (
        <div className="notice notice-error" role="alert">
          <p>{failure.message}</p>
          {failure.requestId && (
            <p className="facts">
              Forespørsels-ID: <code>{failure.requestId}</code>
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function TokenSignIn({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const fieldId = useId();
  const hintId = useId();
  const problemId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    try {
      readToken(value);
      onToken(value);
    } catch (e) {
      setProblem(e instanceof InvalidTokenError ? e.message : 'Tokenet kan ikke brukes.');
    }
  };
  return (
    <section aria-labelledby="token-heading" className="card">
      <h2 id="token-heading">Logg inn med et token</h2>
      <form onSubmit={submit} noValidate>
        <label htmlFor={fieldId}>Tilgangstoken (JWT)</label>
        <p id={hintId} className="hint">
          Et token fra ID-porten eller HelseID med innbyggerens fødselsnummer i kravet{' '}
          <code>helseid://claims/identity/pid</code>. Tokenet holdes bare i minnet og forsvinner når du lukker fanen.
        </p>
        <textarea
          id={fieldId}
          rows={3}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-describedby={problem ? `${hintId} ${problemId}` : hintId}
          aria-invalid={problem ? true : undefined}
          required
          spellCheck={false}
          autoComplete="off"
        />
        {problem && (
          <p id={problemId} className="field-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit">Logg inn</button>
      </form>
    </section>
  );
}

export function SignIn({ config }: { config: AppConfig }) {
  const { session, notice, signIn } = useAuth();
  const location = useLocation();
  usePageTitle('Logg inn');
  const from = (location.state as { from?: string } | null)?.from;
  if (session) return <Navigate to={from && from !== '/logg-inn' ? from : '/min-fastlege'} replace />;
  return (
    <>
      <h1 tabIndex={-1}>Logg inn</h1>
      {notice && <NoticeText notice={notice} />}
      <p className="lead">
        Se din fastlege, finn en fastlege med ledige plasser, se barna dine og hvem som har sett opplysningene dine.
      </p>
      {config.demoSignIn && <DemoSignIn onToken={signIn} />}
      <TokenSignIn onToken={signIn} />
    </>
  );
}
