const DATE = new Intl.DateTimeFormat('nb-NO', { day: 'numeric', month: 'long', year: 'numeric' });
const DATE_TIME = new Intl.DateTimeFormat('nb-NO', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZone: 'Europe/Oslo',
});
const DATE_TIME_SHORT = new Intl.DateTimeFormat('nb-NO', {
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZone: 'Europe/Oslo',
});
const NUMBER = new Intl.NumberFormat('nb-NO');

/** Parse an ISO date (`2020-01-31`) as that calendar day, wherever the browser is. */
export function parseDate(iso: string): Date {
  const [year, month, day] = iso.split('-').map(Number);
  return new Date(year ?? 0, (month ?? 1) - 1, day ?? 1);
}

export function formatDate(iso: string): string {
  return DATE.format(parseDate(iso));
}

export function formatDateTime(iso: string): string {
  return DATE_TIME.format(new Date(iso));
}

/** A moment as in a table: `01.12.2026, 23:57:38` (Norwegian time). */
export function formatDateTimeShort(iso: string): string {
  return DATE_TIME_SHORT.format(new Date(iso));
}

export function formatNumber(value: number): string {
  return NUMBER.format(value);
}

/** Whole years between a birth date and a day. */
export function ageOn(birthDate: string, day: Date): number {
  const birth = parseDate(birthDate);
  let age = day.getFullYear() - birth.getFullYear();
  if (day.getMonth() < birth.getMonth() || (day.getMonth() === birth.getMonth() && day.getDate() < birth.getDate())) {
    age -= 1;
  }
  return age;
}

/** A half-open validity period `[from, to)` in words: "fra 1. januar 2020" or "1. januar 2020 – 3. mai 2022". */
export function formatPeriod(from: string | null | undefined, to: string | null | undefined): string {
  if (from && to) return `${formatDate(from)} – ${formatDate(to)}`;
  if (from) return `fra ${formatDate(from)}`;
  if (to) return `til ${formatDate(to)}`;
  return 'ukjent periode';
}

const RELATIONSHIPS: Record<string, string> = { LPFL: 'Fastlege', LPVI: 'Vikar', LPDL: 'Delelege' };

export function relationshipText(code: string): string {
  return RELATIONSHIPS[code] ?? code;
}
