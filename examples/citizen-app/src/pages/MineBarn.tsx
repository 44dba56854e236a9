import { useQuery } from 'urql';
import { ErrorNotice } from '../errors';
import { ageOn, formatDate } from '../format';
import { graphql } from '../gql';
import { usePageTitle } from '../page';
import { Nullable, Unavailable, redactionLookup } from '../redactions';

/** Parents see their children in Folkeregisteret until the child turns 16. */
const CHILD_AGE_LIMIT = 16;

const MineBarnQuery = graphql(`
  query MineBarn {
    me {
      nin
      children {
        nin
        name {
          full
        }
        birthDate
        addressProtection
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
            office {
              name
              address {
                street
                postalCode
                postalPlace
              }
            }
          }
        }
      }
    }
  }
`);

export function MineBarn() {
  usePageTitle('Mine barn');
  const [result, reexecute] = useQuery({ query: MineBarnQuery });
  const { data, error, fetching, extensions } = result;
  const reason = redactionLookup(extensions);
  const today = new Date();
  // A child of 16 or older is their own person: the server withholds them (NOT_SELF), and the app leaves them out.
  const children = (data?.me?.children ?? [])
    .map((child, index) => ({ child, index }))
    .filter(({ child }) => child.birthDate != null && ageOn(child.birthDate, today) < CHILD_AGE_LIMIT);
  return (
    <>
      <h1 tabIndex={-1}>Mine barn</h1>
      <p className="lead">
        Barna dine under {CHILD_AGE_LIMIT} år og fastlegene deres. Barn som har fylt {CHILD_AGE_LIMIT} år, logger inn
        selv.
      </p>
      {fetching && !data && <p role="status">Henter barna dine …</p>}
      {error && <ErrorNotice error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {data?.me && (
        <div data-view="mine-barn" data-loaded="true">
          <Nullable
            value={data.me.children}
            reason={reason(['me', 'children'])}
            missing={<p>Du har ingen barn registrert.</p>}
          >
            {() =>
              children.length === 0 ? (
                <p>Du har ingen barn under {CHILD_AGE_LIMIT} år registrert i Folkeregisteret.</p>
              ) : (
                <ul className="children">
                  {children.map(({ child, index }) => {
                    const path = ['me', 'children', index];
                    // A child with a protected address: nothing that tells where the child lives or is treated.
                    const protectedChild =
                      (child.addressProtection != null && child.addressProtection !== 'UGRADERT') ||
                      reason([...path, 'gp']) === 'ADDRESS_PROTECTED';
                    return (
                      <li key={child.nin}>
                        <article className="card" aria-labelledby={`child-${child.nin}`}>
                          <h2 id={`child-${child.nin}`}>
                            <Nullable value={child.name?.full} reason={reason([...path, 'name'])}>
                              {(name) => <>{name}</>}
                            </Nullable>
                          </h2>
                          <dl className="facts-list">
                            <div>
                              <dt>Født</dt>
                              <dd>
                                {child.birthDate &&
                                  `${formatDate(child.birthDate)} (${ageOn(child.birthDate, today)} år)`}
                              </dd>
                            </div>
                            <div>
                              <dt>Fastlege</dt>
                              <dd>
                                {protectedChild ? (
                                  <Unavailable reason="ADDRESS_PROTECTED" />
                                ) : (
                                  <Nullable
                                    value={child.gp}
                                    reason={reason([...path, 'gp'])}
                                    missing="Står ikke på noen fastlegeliste"
                                  >
                                    {(gp) => (
                                      <>
                                        <Nullable
                                          value={gp.gp}
                                          reason={reason([...path, 'gp', 'gp'])}
                                          missing="Listen har ingen lege nå"
                                        >
                                          {(doctor) => (
                                            <span className="gp-name">
                                              {doctor.name?.full ?? `HPR-nr. ${doctor.hprNumber}`}
                                            </span>
                                          )}
                                        </Nullable>
                                        {gp.contract.office?.name && (
                                          <>
                                            <br />
                                            {gp.contract.office.name}
                                            {gp.contract.office.address?.street && (
                                              <>, {gp.contract.office.address.street}</>
                                            )}
                                            {gp.contract.office.address?.postalPlace && (
                                              <> {gp.contract.office.address.postalPlace}</>
                                            )}
                                          </>
                                        )}
                                      </>
                                    )}
                                  </Nullable>
                                )}
                              </dd>
                            </div>
                          </dl>
                        </article>
                      </li>
                    );
                  })}
                </ul>
              )
            }
          </Nullable>
        </div>
      )}
    </>
  );
}
