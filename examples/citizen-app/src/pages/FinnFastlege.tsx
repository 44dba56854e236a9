import { useEffect, useId, useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { ErrorNotice } from '../errors';
import { formatNumber, relationshipText } from '../format';
import { graphql } from '../gql';
import { usePageTitle } from '../page';
import { Nullable, redactionLookup } from '../redactions';

const PAGE_SIZE = 10;

const MinKommuneQuery = graphql(`
  query MinKommune {
    me {
      nin
      address {
        municipality {
          code
          name
        }
      }
    }
    codes(system: "kommune") {
      code
      text
    }
  }
`);

const LedigeListerQuery = graphql(`
  query LedigeLister($municipality: String!, $first: Int!, $after: String) {
    gpContracts(municipality: $municipality, openOnly: true, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          placesAvailable
          maxPatients
          listSize
          office {
            orgNumber
            name
            address {
              street
              postalCode
              postalPlace
            }
          }
          gps {
            relationship
            hprNumber
            gp {
              hprNumber
              name {
                full
              }
              approvals {
                id
                category {
                  code
                  text
                }
                authorization {
                  code
                  text
                }
                specialities {
                  code
                  text
                }
              }
            }
          }
        }
      }
    }
  }
`);

function Lists({ municipality, name }: { municipality: string; name: string }) {
  // cursors[i] is the `after` of page i; the last one is the page shown.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [result, reexecute] = useQuery({
    query: LedigeListerQuery,
    variables: { municipality, first: PAGE_SIZE, after },
  });
  const { data, error, fetching, extensions } = result;
  const reason = redactionLookup(extensions);
  const connection = data?.gpContracts;
  const page = cursors.length;
  const first = (page - 1) * PAGE_SIZE + 1;
  const shown = connection?.edges.length ?? 0;
  return (
    <section aria-labelledby="lists-heading">
      <h2 id="lists-heading">Fastlegelister med ledige plasser i {name}</h2>
      {error && <ErrorNotice error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      <p role="status" className="result-count">
        {fetching
          ? 'Henter fastlegelister …'
          : connection
            ? connection.totalCount === 0
              ? `Ingen fastlegelister i ${name} har ledige plasser nå.`
              : `Viser ${first}–${first + shown - 1} av ${formatNumber(connection.totalCount)} lister med ledige plasser.`
            : ''}
      </p>
      {connection && connection.edges.length > 0 && (
        <ul className="gp-lists" data-view="finn-fastlege" data-loaded="true">
          {connection.edges.map(({ node }, i) => {
            const base = ['gpContracts', 'edges', i, 'node'];
            return (
              <li key={node.id}>
                <article className="card" aria-labelledby={`list-${node.id}`}>
                  <h3 id={`list-${node.id}`}>
                    <Nullable
                      value={node.office?.name}
                      reason={reason([...base, 'office'])}
                      missing="Legekontor uten navn"
                    >
                      {(office) => <>{office}</>}
                    </Nullable>
                  </h3>
                  {node.office?.address && (
                    <p className="address">
                      {[
                        node.office.address.street,
                        [node.office.address.postalCode, node.office.address.postalPlace].filter(Boolean).join(' '),
                      ]
                        .filter(Boolean)
                        .join(', ')}
                    </p>
                  )}
                  <p>
                    <span className="status status-open">{formatNumber(node.placesAvailable)} ledige plasser</span> ·{' '}
                    {formatNumber(node.listSize)} pasienter
                    {node.maxPatients != null && <> av {formatNumber(node.maxPatients)} (listetak)</>}
                  </p>
                  <h4>Leger på listen</h4>
                  {node.gps.length === 0 ? (
                    <p>Listen har ingen lege akkurat nå.</p>
                  ) : (
                    <ul className="doctors">
                      {node.gps.map((period) => (
                        <li key={`${period.hprNumber}-${period.relationship}`}>
                          <strong>{period.gp.name?.full ?? `HPR-nr. ${period.hprNumber}`}</strong>,{' '}
                          {relationshipText(period.relationship).toLowerCase()} (HPR-nr. {period.gp.hprNumber})
                          {period.gp.approvals.length > 0 ? (
                            <ul
                              className="approvals"
                              aria-label={`Godkjenninger for ${period.gp.name?.full ?? period.hprNumber}`}
                            >
                              {period.gp.approvals.map((approval) => (
                                <li key={approval.id}>
                                  {approval.category.text ?? approval.category.code} (
                                  {(approval.authorization.text ?? approval.authorization.code).toLowerCase()})
                                  {approval.specialities.length > 0 && (
                                    <>
                                      , spesialist i{' '}
                                      {approval.specialities.map((s) => (s.text ?? s.code).toLowerCase()).join(', ')}
                                    </>
                                  )}
                                </li>
                              ))}
                            </ul>
                          ) : (
                            <> – ingen gyldig godkjenning i dag</>
                          )}
                        </li>
                      ))}
                    </ul>
                  )}
                </article>
              </li>
            );
          })}
        </ul>
      )}
      {connection && (page > 1 || connection.pageInfo.hasNextPage) && (
        <nav aria-label="Sider med fastlegelister" className="pager">
          <button type="button" disabled={page === 1 || fetching} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Forrige side
          </button>
          <span>
            Side {page} av {Math.max(1, Math.ceil(connection.totalCount / PAGE_SIZE))}
          </span>
          <button
            type="button"
            disabled={!connection.pageInfo.hasNextPage || fetching}
            onClick={() => setCursors((c) => [...c, connection.pageInfo.endCursor ?? null])}
          >
            Neste side
          </button>
        </nav>
      )}
    </section>
  );
}

export function FinnFastlege() {
  usePageTitle('Finn fastlege');
  const [result, reexecute] = useQuery({ query: MinKommuneQuery });
  const { data, error, extensions } = result;
  const reason = redactionLookup(extensions);
  const mine = data?.me?.address?.municipality ?? null;
  const [chosen, setChosen] = useState<string | null>(null);
  const [draft, setDraft] = useState<string>('');
  const selectId = useId();
  useEffect(() => {
    if (mine && chosen === null) {
      setChosen(mine.code);
      setDraft(mine.code);
    }
  }, [mine, chosen]);
  const municipalities = data?.codes ?? [];
  const chosenName =
    municipalities.find((m) => m.code === chosen)?.text ?? (chosen === mine?.code ? mine?.name : null) ?? chosen;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft) setChosen(draft);
  };
  return (
    <>
      <h1 tabIndex={-1}>Finn fastlege</h1>
      <p className="lead">Fastlegelister som tar imot nye pasienter, med legene og godkjenningene deres.</p>
      {error && <ErrorNotice error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {data && (
        <form className="card municipality-form" onSubmit={submit}>
          <label htmlFor={selectId}>Kommune</label>
          <p className="hint" id={`${selectId}-hint`}>
            {mine ? (
              <>Du bor i {mine.name ?? mine.code}. Velg en annen kommune for å se listene der.</>
            ) : reason(['me', 'address']) ? (
              <>Adressen din vises ikke her. Velg kommune selv.</>
            ) : (
              <>Vi fant ingen bostedsadresse for deg. Velg kommune.</>
            )}
          </p>
          <div className="inline-field">
            <select
              id={selectId}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              aria-describedby={`${selectId}-hint`}
            >
              <option value="" disabled>
                Velg kommune
              </option>
              {municipalities.map((m) => (
                <option key={m.code} value={m.code}>
                  {m.text ?? m.code} ({m.code})
                </option>
              ))}
            </select>
            <button type="submit">Vis lister</button>
          </div>
        </form>
      )}
      {chosen && <Lists key={chosen} municipality={chosen} name={chosenName ?? chosen} />}
    </>
  );
}
