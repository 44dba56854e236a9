import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Locator, type Page } from '@playwright/test';

/** A person the tests sign in as or look for, as `tests/test_citizen_app.py` found them in the database. */
export interface Person {
  nin: string;
  name: string;
}

/** What `tests/test_citizen_app.py` starts and finds for these tests (HELSEGRAF_APP_FIXTURE). */
export interface Fixture {
  openUrl: string;
  outage: { url: string; pid: number };
  clinician: { token: string; hprNumber: number; orgNumber: string };
  expiredToken: string;
  expiredAt: number;
  withGp: Person & { gpName: string; officeName: string; municipality: string };
  withoutGp: Person;
  parent: Person & { under16: Person[]; aged16: Person[] };
  protectedChild: { parent: Person; child: Person; gpName: string; officeName: string };
  protectedPerson: Person & { gpName: string | null };
  pagedMunicipality: { code: string; name: string; openLists: number };
}

function load(): Fixture {
  const raw = process.env.HELSEGRAF_APP_FIXTURE;
  if (!raw) {
    throw new Error('these tests run through pytest: `.venv/bin/pytest tests/test_citizen_app.py` starts the servers');
  }
  return JSON.parse(raw) as Fixture;
}

export const fixture = load();

const SCREENSHOTS =
  process.env.HELSEGRAF_APP_SCREENSHOTS ?? join(import.meta.dirname, '..', 'test-results', 'screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

/** Check the page against WCAG 2.1 A and AA with axe-core, and save a screenshot of it. */
export async function checkView(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  const violations = results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')),
  }));
  expect(violations, `axe-core found violations on ${name}`).toEqual([]);
}

export function heading(page: Page, name: string): Locator {
  return page.getByRole('heading', { level: 1, name });
}

/** Sign in through the demo sign-in as the sample citizen with this identity number; land on Min fastlege. */
export async function signIn(page: Page, nin: string, base = ''): Promise<void> {
  await page.goto(`${base}/app/`);
  await expect(heading(page, 'Logg inn')).toBeVisible();
  await page.getByRole('button', { name: new RegExp(`fødselsnummer ${nin}`) }).click();
  await expect(heading(page, 'Min fastlege')).toBeVisible();
  await expect(page.locator('[data-view="min-fastlege"]')).toBeVisible();
}

export async function openView(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name }).click();
  await expect(heading(page, name)).toBeVisible();
}

/** Press Tab (Shift+Tab `backwards`) until `target` has the focus, at most `limit` times: the keyboard's way there. */
export async function tabTo(page: Page, target: Locator, { limit = 60, backwards = false } = {}): Promise<void> {
  for (let i = 0; i < limit; i += 1) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`Tab never reached ${target.toString()}`);
}
