import type { ReactNode } from 'react';

/** One entry of `extensions.redactions`: a field the server withheld, and why. */
export interface Redaction {
  path: (string | number)[];
  reason: string;
}

const REASONS: Record<string, string> = {
  ADDRESS_PROTECTED: 'adressen er beskyttet',
  NOT_SELF: 'opplysningene gjelder ikke deg eller et barn av deg under 16 år',
  MISSING_SCOPE: 'innloggingen din gir ikke tilgang til dette',
  UNAUTHENTICATED: 'du er ikke logget inn',
};

export function reasonText(reason: string): string {
  return REASONS[reason] ?? 'tjenesten holder det tilbake';
}

/** Look up why the server left a field null, by its path in the response (`['me', 'children', 0, 'gp']`). */
export type RedactionLookup = (path: (string | number)[]) => string | undefined;

export function redactionLookup(extensions: Record<string, unknown> | undefined): RedactionLookup {
  const redactions = (extensions?.redactions as Redaction[] | undefined) ?? [];
  const byPath = new Map(redactions.map((r) => [r.path.join('/'), r.reason]));
  return (path) => byPath.get(path.join('/'));
}

/** A field the server withheld: said as such, with the reason, never a blank. */
export function Unavailable({ reason }: { reason: string }) {
  return (
    <span className="unavailable">
      Ikke tilgjengelig for deg: {reasonText(reason)} <span className="code">({reason})</span>
    </span>
  );
}

/**
 * Show a value that may be null: the value when there is one, "not available to you" with the reason when
 * the server withheld it, and `missing` (e.g. "Ikke registrert") when the register has none.
 */
export function Nullable<T>({
  value,
  reason,
  missing = 'Ikke registrert',
  children,
}: {
  value: T | null | undefined;
  reason: string | undefined;
  missing?: ReactNode;
  children: (value: T) => ReactNode;
}) {
  if (value !== null && value !== undefined) return <>{children(value)}</>;
  if (reason) return <Unavailable reason={reason} />;
  return <span className="missing">{missing}</span>;
}
