import { useState } from 'react';
import { useQuery } from 'urql';
import { ErrorNotice } from '../errors';
import { formatDateTime, formatDateTimeShort, formatNumber } from '../format';
import { graphql } from '../gql';
import { usePageTitle } from '../page';
import { Cell } from '../table';
import { Nullable, redactionLookup } from '../redactions';

const PAGE_SIZE = 20;

const LoggOverBrukQuery = graphql(`
  query LoggOverBruk($first: Int!, $after: String) {
    me {
      nin
      accessLog(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          cursor
          node {
            at
            purpose
            fields
            actor {
              subject
              role
              hprNumber
              orgNumber
              clientId
            }
          }
        }
      }
    }
  }
`);

const ROLES: Record<string, string> = {
  citizen: 'Innbygger',
  clinician: 'Helsepersonell',
  integrator: 'Fagsystem',
  analyst: 'Analytiker',
  admin: 'Driftspersonell',
};

const GROUPS: Record<string, string> = {
  identity: 'navn og personopplysninger',
  address: 'adresse',
  family: 'familie',
  guardianship: 'vergemål',
  gp: 'fastlege',
  'health-personnel': 'helsepersonellopplysninger',
  'access-log': 'logg over bruk',
  statistics: 'statistikk',
};

interface Actor {
  subject?: string | null;
  role?: string | null;
  hprNumber?: number | null;
  orgNumber?: string | null;
  clientId?: string | null;
}

function Who({ actor }: { actor: Actor }) {
  const details = [
    actor.hprNumber != null && `HPR-nr. ${actor.hprNumber}`,
    actor.orgNumber && `org.nr. ${actor.orgNumber}`,
    actor.clientId && `system ${actor.clientId}`,
  ].filter(Boolean);
  return (
    <>
      <span className="actor-role">{(actor.role && ROLES[actor.role]) ?? actor.role ?? 'Ukjent'}</span>
      {details.length > 0 && (
        <>
          <br />
          <span className="actor-details">{details.join(', ')}</span>
        </>
      )}
    </>
  );
}

export function LoggOverBruk() {
  usePageTitle('Logg over bruk');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [result, reexecute] = useQuery({ query: LoggOverBrukQuery, variables: { first: PAGE_SIZE, after } });
  const { data, error, fetching, extensions } = result;
  const reason = redactionLookup(extensions);
  const log = data?.me?.accessLog;
  const page = cursors.length;
  const refresh = () => {
    if (page === 1) reexecute({ requestPolicy: 'network-only' });
    else setCursors([null]);
  };
  return (
    <>
      <h1 tabIndex={-1}>Logg over bruk</h1>
      <p className="lead">Hvem som har sett opplysningene dine, når, hvorfor og hvilke opplysninger. Nyeste først.</p>
      <p>
        <button type="button" onClick={refresh} disabled={fetching}>
          Oppdater
        </button>
      </p>
      {error && <ErrorNotice error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      <p role="status" className="result-count">
        {fetching ? 'Henter loggen …' : log ? `${formatNumber(log.totalCount)} oppslag i alt.` : ''}
      </p>
      {data?.me && (
        <Nullable value={log} reason={reason(['me', 'accessLog'])}>
          {(log) =>
            log.edges.length === 0 ? (
              <p>Ingen har sett opplysningene dine ennå.</p>
            ) : (
              <>
                <div className="table-scroll" role="region" aria-label="Loggen" tabIndex={0}>
                  <table role="table" className="stack-on-phone" data-view="logg-over-bruk" data-loaded="true">
                    <caption>
                      Oppslag {(page - 1) * PAGE_SIZE + 1}–{(page - 1) * PAGE_SIZE + log.edges.length} av{' '}
                      {formatNumber(log.totalCount)}, nyeste først
                    </caption>
                    <thead role="rowgroup">
                      <tr role="row">
                        <th role="columnheader" scope="col">
                          Tidspunkt
                        </th>
                        <th role="columnheader" scope="col">
                          Hvem
                        </th>
                        <th role="columnheader" scope="col">
                          Formål
                        </th>
                        <th role="columnheader" scope="col">
                          Opplysninger
                        </th>
                      </tr>
                    </thead>
                    <tbody role="rowgroup">
                      {log.edges.map(({ cursor, node }) => (
                        <tr role="row" key={cursor}>
                          <Cell label="Tidspunkt">
                            <time dateTime={node.at} title={formatDateTime(node.at)}>
                              {formatDateTimeShort(node.at)}
                            </time>
                          </Cell>
                          <Cell label="Hvem">
                            <Who actor={node.actor} />
                          </Cell>
                          <Cell label="Formål">{node.purpose ?? <span className="missing">Ikke oppgitt</span>}</Cell>
                          <Cell label="Opplysninger">{node.fields.map((f) => GROUPS[f] ?? f).join(', ')}</Cell>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <p className="hint">
                  «Innbygger» er deg selv, eller en forelder som har sett opplysninger om deg mens du var under 16 år.
                </p>
              </>
            )
          }
        </Nullable>
      )}
      {log && (page > 1 || log.pageInfo.hasNextPage) && (
        <nav aria-label="Sider i loggen" className="pager">
          <button type="button" disabled={page === 1 || fetching} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Forrige side
          </button>
          <span>
            Side {page} av {Math.max(1, Math.ceil(log.totalCount / PAGE_SIZE))}
          </span>
          <button
            type="button"
            disabled={!log.pageInfo.hasNextPage || fetching}
            onClick={() => setCursors((c) => [...c, log.pageInfo.endCursor ?? null])}
          >
            Neste side
          </button>
        </nav>
      )}
    </>
  );
}
