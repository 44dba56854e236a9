import { expect, test } from '@playwright/test';
import { checkView, fixture, heading, openView, signIn, tabTo } from './fixture';

test.describe('expired sessions', () => {
  test('a session whose token expires while in use goes back to sign-in', async ({ page }) => {
    await page.clock.install();
    await signIn(page, fixture.withGp.nin);
    await page.clock.fastForward('01:00:01');
    await expect(heading(page, 'Logg inn')).toBeVisible();
    await expect(page.getByRole('alert')).toContainText('Økten din er utløpt');
    await checkView(page, '12-logg-inn-utlopt');
  });

  test('a token the server refuses as expired goes back to sign-in, with the code and request id', async ({ page }) => {
    // The browser's clock says the token is still valid; the server's says it expired an hour ago.
    await page.clock.install({ time: (fixture.expiredAt - 600) * 1000 });
    await page.goto('/app/logg-inn');
    await page.getByLabel('Tilgangstoken (JWT)').fill(fixture.expiredToken);
    await page.getByRole('button', { name: 'Logg inn', exact: true }).click();
    await expect(heading(page, 'Logg inn')).toBeVisible();
    const alert = page.getByRole('alert');
    await expect(alert).toContainText('Tjenesten godtok ikke innloggingen din');
    await expect(alert).toContainText('UNAUTHENTICATED');
    await expect(alert).toContainText(/Forespørsels-ID: [0-9a-f]{32}/);
  });

  test('an expired token is not accepted at sign-in', async ({ page }) => {
    await page.goto('/app/logg-inn');
    await page.getByLabel('Tilgangstoken (JWT)').fill(fixture.expiredToken);
    await page.getByRole('button', { name: 'Logg inn', exact: true }).click();
    await expect(page.getByRole('alert')).toContainText('Økten din er utløpt');
  });
});

test.describe('trusted documents', () => {
  test('the app sends document ids only, and the server refuses a document the build did not produce', async ({
    page,
  }) => {
    const bodies: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/graphql') && r.method() === 'POST') bodies.push(r.postData() ?? '');
    });
    await signIn(page, fixture.withGp.nin);
    await openView(page, 'Logg over bruk');
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      const sent = JSON.parse(body) as { query?: string; extensions?: { persistedQuery?: { sha256Hash?: string } } };
      expect(sent.query).toBeUndefined();
      expect(sent.extensions?.persistedQuery?.sha256Hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    }

    const refused = await page.evaluate(async () => {
      const ask = async (body: object) => {
        const response = await fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const json = (await response.json()) as { errors: { extensions: { code: string } }[] };
        return json.errors[0]?.extensions.code;
      };
      return [
        await ask({ query: '{ me { nin name { full } } }' }),
        await ask({ documentId: `sha256:${'0'.repeat(64)}` }),
        await ask({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }),
      ];
    });
    expect(refused).toEqual(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_FOUND']);
  });
});

test.describe('keyboard', () => {
  test('every view can be reached and used with the keyboard alone', async ({ page }) => {
    await page.goto('/app/');
    await expect(page.getByRole('button', { name: new RegExp(fixture.withGp.nin) })).toBeVisible();
    await page.keyboard.press('Tab');
    await expect(page.getByRole('link', { name: 'Hopp til innholdet' })).toBeFocused();
    await tabTo(page, page.getByRole('button', { name: new RegExp(fixture.withGp.nin) }));
    await page.keyboard.press('Enter');
    await expect(heading(page, 'Min fastlege')).toBeVisible();

    const nav = page.getByRole('navigation', { name: 'Hovedmeny' });
    await tabTo(page, nav.getByRole('link', { name: 'Finn fastlege' }));
    await page.keyboard.press('Enter');
    await expect(heading(page, 'Finn fastlege')).toBeFocused();
    const select = page.getByLabel('Kommune');
    await tabTo(page, select);
    await select.selectOption(fixture.pagedMunicipality.code);
    await tabTo(page, page.getByRole('button', { name: 'Vis lister' }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('status')).toContainText('Viser 1–10');
    await tabTo(page, page.getByRole('button', { name: 'Neste side' }), { limit: 200 });
    await page.keyboard.press('Enter');
    await expect(page.getByRole('status')).toContainText('Viser 11–');

    for (const view of ['Mine barn', 'Logg over bruk', 'Min fastlege']) {
      await tabTo(page, nav.getByRole('link', { name: view }), { limit: 200, backwards: true });
      await page.keyboard.press('Enter');
      await expect(heading(page, view)).toBeFocused();
    }
    await tabTo(page, page.getByRole('button', { name: 'Logg ut' }), { limit: 200, backwards: true });
    await page.keyboard.press('Enter');
    await expect(heading(page, 'Logg inn')).toBeVisible();
    await expect(page.getByRole('status').filter({ hasText: 'Du er logget ut' })).toBeVisible();
  });
});

test.describe('server outage', () => {
  test('a server that stops answering gives a clear message with a request id, not a blank page', async ({ page }) => {
    const { url, pid } = fixture.outage;
    await signIn(page, fixture.withGp.nin, url);
    process.kill(pid, 'SIGKILL');
    await expect
      .poll(
        async () =>
          fetch(`${url}/healthz`).then(
            () => 'up',
            () => 'down',
          ),
        { timeout: 10_000 },
      )
      .toBe('down');

    await openView(page, 'Finn fastlege');
    const alert = page.getByRole('alert');
    await expect(alert).toContainText('Får ikke kontakt med tjenesten');
    await expect(alert).toContainText('NETTVERKSFEIL');
    await expect(alert).toContainText(/Forespørsels-ID\s*[0-9a-f]{32}/);
    await expect(alert.getByRole('button', { name: 'Prøv igjen' })).toBeVisible();
    await checkView(page, '13-tjenesten-svarer-ikke');
  });
});
