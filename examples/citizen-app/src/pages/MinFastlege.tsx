import { Link } from 'react-router';
import { useQuery } from 'urql';
import { ErrorNotice } from '../errors';
import { formatDate, formatNumber, formatPeriod } from '../format';
import { graphql } from '../gql';
import { usePageTitle } from '../page';
import { Cell } from '../table';
import { Nullable, redactionLookup } from '../redactions';

const MinFastlegeQuery = graphql(`
  query MinFastlege {
    me {
      nin
      name {
        full
      }
      gp {
        id
        validFrom
        gp {
          hprNumber
          name {
            full
          }
        }
        contract {
          id
          isOpen
          maxPatients
          listSize
          placesAvailable
          office {
            orgNumber
            name
            address {
              street
              postalCode
              postalPlace
            }
          }
          municipality {
            code
            name
          }
        }
      }
      gpHistory {
        id
        validFrom
        validTo
        gp {
          hprNumber
          name {
            full
          }
        }
        contract {
          id
          office {
            name
          }
          municipality {
            name
          }
        }
      }
    }
  }
`);

export function MinFastlege() {
  usePageTitle('Min fastlege');
  const [result, reexecute] = useQuery({ query: MinFastlegeQuery });
  const { data, error, fetching, extensions } = result;
  const reason = redactionLookup(extensions);
  const me = data?.me;
  const gp = me?.gp;
  const contract = gp?.contract;
  const office = contract?.office;
  return (
    <>
      <h1 tabIndex={-1}>Min fastlege</h1>
      {fetching && !data && <p role="status">Henter fastlegen din …</p>}
      {error && <ErrorNotice error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {data && me === null && (
        <p className="notice">Innloggingen din er ikke knyttet til en innbygger i Folkeregisteret.</p>
      )}
      {me && (
        <div data-view="min-fastlege" data-loaded="true">
          <p className="lead">
            <Nullable value={me.name?.full} reason={reason(['me', 'name'])}>
              {(name) => <>Fastlegen til {name}.</>}
            </Nullable>
          </p>
          <section aria-labelledby="today-heading" className="card">
            <h2 id="today-heading">Fastlegen din i dag</h2>
            <Nullable
              value={gp}
              reason={reason(['me', 'gp'])}
              missing={
                <>
                  Du står ikke på noen fastlegeliste.{' '}
                  <Link to="/finn-fastlege">Finn en fastlege med ledige plasser</Link>.
                </>
              }
            >
              {(gp) => (
                <dl className="facts-list">
                  <div>
                    <dt>Fastlege</dt>
                    <dd>
                      <Nullable value={gp.gp} reason={reason(['me', 'gp', 'gp'])} missing="Listen har ingen lege nå">
                        {(doctor) => (
                          <span className="gp-name">{doctor.name?.full ?? `HPR-nr. ${doctor.hprNumber}`}</span>
                        )}
                      </Nullable>
                    </dd>
                  </div>
                  <div>
                    <dt>Legekontor</dt>
                    <dd>
                      <Nullable value={office} reason={reason(['me', 'gp', 'contract', 'office'])}>
                        {(office) => (
                          <>
                            <span className="office-name">{office.name ?? `Org.nr. ${office.orgNumber}`}</span>
                            <br />
                            <Nullable
                              value={office.address}
                              reason={reason(['me', 'gp', 'contract', 'office', 'address'])}
                              missing="Adresse ikke registrert"
                            >
                              {(a) => (
                                <span className="address">
                                  {[a.street, [a.postalCode, a.postalPlace].filter(Boolean).join(' ')]
                                    .filter(Boolean)
                                    .join(', ')}
                                </span>
                              )}
                            </Nullable>
                          </>
                        )}
                      </Nullable>
                    </dd>
                  </div>
                  <div>
                    <dt>Kommune</dt>
                    <dd>
                      <Nullable
                        value={contract?.municipality}
                        reason={reason(['me', 'gp', 'contract', 'municipality'])}
                      >
                        {(m) => <>{m.name ?? m.code}</>}
                      </Nullable>
                    </dd>
                  </div>
                  <div>
                    <dt>Listen</dt>
                    <dd>
                      {contract?.isOpen ? (
                        <span className="status status-open">Åpen for nye pasienter</span>
                      ) : (
                        <span className="status status-closed">Lukket for nye pasienter</span>
                      )}
                      {contract && (
                        <>
                          {' '}
                          · {formatNumber(contract.placesAvailable)} ledige plasser · {formatNumber(contract.listSize)}{' '}
                          pasienter
                          {contract.maxPatients != null && <> av {formatNumber(contract.maxPatients)} (listetak)</>}
                        </>
                      )}
                    </dd>
                  </div>
                  <div>
                    <dt>På listen siden</dt>
                    <dd>{gp.validFrom ? formatDate(gp.validFrom) : 'Ikke registrert'}</dd>
                  </div>
                </dl>
              )}
            </Nullable>
          </section>
          <section aria-labelledby="history-heading" className="card">
            <h2 id="history-heading">Fastlegehistorikk</h2>
            <Nullable
              value={me.gpHistory}
              reason={reason(['me', 'gpHistory'])}
              missing="Ingen fastlegehistorikk er registrert."
            >
              {(history) =>
                history.length === 0 ? (
                  <p>Du har ikke stått på noen fastlegeliste.</p>
                ) : (
                  <div className="table-scroll" role="region" aria-label="Fastlegehistorikken" tabIndex={0}>
                    <table role="table" className="stack-on-phone">
                      <caption>Fastlegelistene du har stått på, nyeste først</caption>
                      <thead role="rowgroup">
                        <tr role="row">
                          <th role="columnheader" scope="col">
                            Periode
                          </th>
                          <th role="columnheader" scope="col">
                            Lege
                          </th>
                          <th role="columnheader" scope="col">
                            Legekontor
                          </th>
                          <th role="columnheader" scope="col">
                            Kommune
                          </th>
                        </tr>
                      </thead>
                      <tbody role="rowgroup">
                        {history.map((entry, i) => (
                          <tr role="row" key={entry.id}>
                            <Cell label="Periode">
                              {formatPeriod(entry.validFrom, entry.validTo)}
                              {!entry.validTo && <span className="tag">nå</span>}
                            </Cell>
                            <Cell label="Lege">
                              <Nullable
                                value={entry.gp}
                                reason={reason(['me', 'gpHistory', i, 'gp'])}
                                missing="Ingen lege"
                              >
                                {(doctor) => <>{doctor.name?.full ?? `HPR-nr. ${doctor.hprNumber}`}</>}
                              </Nullable>
                            </Cell>
                            <Cell label="Legekontor">
                              <Nullable
                                value={entry.contract.office?.name}
                                reason={reason(['me', 'gpHistory', i, 'contract', 'office'])}
                              >
                                {(name) => <>{name}</>}
                              </Nullable>
                            </Cell>
                            <Cell label="Kommune">{entry.contract.municipality?.name ?? 'Ikke registrert'}</Cell>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )
              }
            </Nullable>
          </section>
        </div>
      )}
    </>
  );
}
