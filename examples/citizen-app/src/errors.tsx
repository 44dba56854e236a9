import type { CombinedError } from 'urql';
import { ServiceUnreachableError, requestIdOf } from './client';

interface Described {
  title: string;
  detail: string;
  codes: string[];
  requestId: string | null;
}

function describe(error: CombinedError): Described {
  const codes = [
    ...new Set(
      error.graphQLErrors.map((e) => String((e.extensions as { code?: string } | undefined)?.code ?? 'UKJENT')),
    ),
  ];
  const fromBody = error.graphQLErrors
    .map((e) => (e.extensions as { requestId?: string } | undefined)?.requestId)
    .find((id): id is string => typeof id === 'string');
  const response = error.response as Response | undefined;
  const requestId =
    requestIdOf(response) ??
    fromBody ??
    (error.networkError instanceof ServiceUnreachableError ? error.networkError.requestId : null);
  if (error.networkError instanceof ServiceUnreachableError) {
    return {
      title: 'Får ikke kontakt med tjenesten',
      detail: 'helsegraf svarer ikke akkurat nå. Sjekk nettforbindelsen din, eller prøv igjen om litt.',
      codes: ['NETTVERKSFEIL'],
      requestId,
    };
  }
  if (codes.includes('SERVICE_UNAVAILABLE') || response?.status === 503) {
    return {
      title: 'Tjenesten er midlertidig utilgjengelig',
      detail: 'Et av registrene svarer ikke. Ingen opplysninger om deg ble utlevert. Prøv igjen om litt.',
      codes: codes.length ? codes : ['SERVICE_UNAVAILABLE'],
      requestId,
    };
  }
  if (codes.includes('PERSISTED_QUERY_NOT_FOUND')) {
    return {
      title: 'Appen og tjenesten er ikke i takt',
      detail: 'Tjenesten kjenner ikke denne versjonen av appen. Last inn siden på nytt for å hente den nyeste.',
      codes,
      requestId,
    };
  }
  if (error.networkError) {
    return {
      title: 'Tjenesten svarte ikke som ventet',
      detail: `Svaret kunne ikke leses${response ? ` (HTTP ${response.status})` : ''}. Prøv igjen om litt.`,
      codes: codes.length ? codes : ['NETTVERKSFEIL'],
      requestId,
    };
  }
  return {
    title: 'Noe gikk galt',
    detail: error.graphQLErrors.map((e) => e.message).join(' '),
    codes,
    requestId,
  };
}

/** An error in words, with its code and request id, so that support can find it in the server's log. */
export function ErrorNotice({ error, onRetry }: { error: CombinedError; onRetry?: () => void }) {
  const { title, detail, codes, requestId } = describe(error);
  return (
    <div className="notice notice-error" role="alert">
      <h2>{title}</h2>
      <p>{detail}</p>
      <dl className="error-facts">
        <div>
          <dt>Feilkode</dt>
          <dd>
            <code>{codes.join(', ')}</code>
          </dd>
        </div>
        <div>
          <dt>Forespørsels-ID</dt>
          <dd>
            <code>{requestId ?? 'ingen (fikk ikke svar)'}</code>
          </dd>
        </div>
      </dl>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Prøv igjen
        </button>
      )}
    </div>
  );
}
