import { expect, test } from '@playwright/test';
import { checkView, fixture, heading, openView, signIn } from './fixture';

test.describe('sign-in', () => {
  test('lists the sample citizens and keeps the token out of storage', async ({ page }) => {
    await page.goto('/app/');
    await expect(heading(page, 'Logg inn')).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'nb');
    for (const nin of [fixture.withGp.nin, fixture.withoutGp.nin, fixture.parent.nin, fixture.protectedPerson.nin]) {
      await expect(page.getByRole('button', { name: new RegExp(nin) })).toBeVisible();
    }
    await checkView(page, '01-logg-inn');

    await page.getByRole('button', { name: new RegExp(fixture.withGp.nin) }).click();
    await expect(heading(page, 'Min fastlege')).toBeVisible();

    const stored = await page.evaluate(() => [
      ...Object.keys(localStorage).map((k) => localStorage.getItem(k) ?? ''),
      ...Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k) ?? ''),
      document.cookie,
    ]);
    expect(stored.filter((value) => value.includes('eyJ'))).toEqual([]);
  });

  test('a reload forgets the session: the token lived in memory only', async ({ page }) => {
    await signIn(page, fixture.withGp.nin);
    await page.reload();
    await expect(heading(page, 'Logg inn')).toBeVisible();
  });
});

test.describe('Min fastlege', () => {
  test('a citizen with a GP sees the GP, the office, the list and the history', async ({ page }) => {
    await signIn(page, fixture.withGp.nin);
    const view = page.locator('[data-view="min-fastlege"]');
    await expect(view).toContainText(fixture.withGp.name);
    const today = page.getByRole('region', { name: 'Fastlegen din i dag' });
    await expect(today.locator('.gp-name')).toHaveText(fixture.withGp.gpName);
    await expect(today.locator('.office-name')).toHaveText(fixture.withGp.officeName);
    await expect(today).toContainText(fixture.withGp.municipality);
    await expect(today).toContainText(/(Åpen|Lukket) for nye pasienter/);
    await expect(today).toContainText('ledige plasser');
    const history = page.getByRole('table', { name: /Fastlegelistene du har stått på/ });
    await expect(history.getByRole('row')).not.toHaveCount(0);
    await expect(history).toContainText('nå');
    await expect(page.getByText('Ikke tilgjengelig for deg')).toHaveCount(0);
    await checkView(page, '02-min-fastlege');
  });

  test('a citizen without a GP is told so, and pointed to Finn fastlege', async ({ page }) => {
    await signIn(page, fixture.withoutGp.nin);
    const today = page.getByRole('region', { name: 'Fastlegen din i dag' });
    await expect(today).toContainText('Du står ikke på noen fastlegeliste');
    await today.getByRole('link', { name: /Finn en fastlege/ }).click();
    await expect(heading(page, 'Finn fastlege')).toBeVisible();
    await openView(page, 'Min fastlege');
    await checkView(page, '03-min-fastlege-uten-fastlege');
  });

  test('a citizen with a protected address sees their own GP', async ({ page }) => {
    await signIn(page, fixture.protectedPerson.nin);
    const today = page.getByRole('region', { name: 'Fastlegen din i dag' });
    await expect(page.locator('[data-view="min-fastlege"]')).toContainText(fixture.protectedPerson.name);
    if (fixture.protectedPerson.gpName)
      await expect(today.locator('.gp-name')).toHaveText(fixture.protectedPerson.gpName);
    else await expect(today).toContainText('Du står ikke på noen fastlegeliste');
    await expect(page.getByText('Ikke tilgjengelig for deg')).toHaveCount(0);
    await checkView(page, '04-min-fastlege-beskyttet-adresse');
    await openView(page, 'Mine barn');
    await expect(page.locator('[data-view="mine-barn"]')).toBeVisible();
    await openView(page, 'Logg over bruk');
    await expect(page.getByRole('status')).toContainText('oppslag i alt');
  });
});

test.describe('Finn fastlege', () => {
  test('lists open GP lists of a municipality, paged, with doctors and approvals', async ({ page }) => {
    await signIn(page, fixture.withGp.nin);
    await openView(page, 'Finn fastlege');
    const select = page.getByLabel('Kommune');
    await expect(select).toHaveValue(/\d{4}/);
    await checkView(page, '05-finn-fastlege-min-kommune');

    const { code, name, openLists } = fixture.pagedMunicipality;
    await select.selectOption(code);
    await page.getByRole('button', { name: 'Vis lister' }).click();
    await expect(page.getByRole('heading', { name: `Fastlegelister med ledige plasser i ${name}` })).toBeVisible();
    await expect(page.getByRole('status')).toHaveText(`Viser 1–10 av ${openLists} lister med ledige plasser.`);
    const lists = page.locator('.gp-lists > li');
    await expect(lists).toHaveCount(10);
    const firstList = lists.first();
    await expect(firstList).toContainText('ledige plasser');
    await expect(firstList.locator('.doctors > li').first()).toContainText(/fastlege|vikar|delelege/);
    await expect(firstList.locator('.approvals').first()).toContainText(/Lege/);
    await checkView(page, '06-finn-fastlege-side-1');

    const pager = page.getByRole('navigation', { name: 'Sider med fastlegelister' });
    await pager.getByRole('button', { name: 'Neste side' }).click();
    await expect(page.getByRole('status')).toHaveText(
      `Viser 11–${openLists} av ${openLists} lister med ledige plasser.`,
    );
    await expect(lists).toHaveCount(openLists - 10);
    await expect(pager.getByRole('button', { name: 'Neste side' })).toBeDisabled();
    await checkView(page, '07-finn-fastlege-side-2');
    await pager.getByRole('button', { name: 'Forrige side' }).click();
    await expect(lists).toHaveCount(10);
  });
});

test.describe('Mine barn', () => {
  test('a parent sees the children under 16 and their GPs, and not the child of 16', async ({ page }) => {
    await signIn(page, fixture.parent.nin);
    await openView(page, 'Mine barn');
    const view = page.locator('[data-view="mine-barn"]');
    await expect(view).toBeVisible();
    for (const child of fixture.parent.under16) {
      const card = page.getByRole('article', { name: child.name });
      await expect(card).toContainText('Fastlege');
      await expect(card).toContainText(/år\)/);
    }
    await expect(page.locator('.children > li')).toHaveCount(fixture.parent.under16.length);
    for (const child of fixture.parent.aged16) {
      await expect(view).not.toContainText(child.name);
      await expect(view).not.toContainText(child.nin);
    }
    await expect(page.getByText('Ikke tilgjengelig for deg')).toHaveCount(0);
    await checkView(page, '08-mine-barn');
  });

  test("a child with a protected address: the child's GP and office are not shown", async ({ page }) => {
    const { parent, child, gpName, officeName } = fixture.protectedChild;
    await signIn(page, parent.nin);
    await openView(page, 'Mine barn');
    const card = page.getByRole('article', { name: child.name });
    await expect(card).toContainText('Ikke tilgjengelig for deg: adressen er beskyttet (ADDRESS_PROTECTED)');
    await expect(card).not.toContainText(gpName);
    await expect(card).not.toContainText(officeName);
    await checkView(page, '09-mine-barn-beskyttet-barn');
  });
});

test.describe('Logg over bruk', () => {
  test("lists the citizen's own read, and a clinician's read after a refresh, newest first", async ({
    page,
    request,
  }) => {
    const before = Date.now() - 2000;
    await signIn(page, fixture.withGp.nin);
    await openView(page, 'Logg over bruk');
    const table = page.getByRole('table', { name: /Oppslag/ });
    const ownRead = table.getByRole('row').filter({ hasText: 'Innbygger' }).filter({ hasText: 'fastlege' });
    await expect(ownRead.first()).toContainText('innsyn');
    // The read Min fastlege just made is there: a citizen's read of the GP, logged since this test began.
    const ownReadTimes = await ownRead
      .locator('time')
      .evaluateAll((times) => times.map((t) => Date.parse(t.getAttribute('datetime') ?? '')));
    expect(ownReadTimes.some((at) => at >= before)).toBe(true);

    const { token, hprNumber, orgNumber } = fixture.clinician;
    const response = await request.post(`${fixture.openUrl}/graphql`, {
      headers: { authorization: `Bearer ${token}`, 'x-purpose': 'behandling' },
      data: {
        query: 'query ($nin: ID!) { person(nin: $nin) { name { full } gp { gp { name { full } } } } }',
        variables: { nin: fixture.withGp.nin },
      },
    });
    expect(response.status()).toBe(200);
    expect((await response.json()).data.person.name.full).toBe(fixture.withGp.name);

    const clinicianRead = table.getByRole('row').filter({ hasText: 'Helsepersonell' });
    await expect(clinicianRead).toHaveCount(0);
    await page.getByRole('button', { name: 'Oppdater' }).click();
    await expect(clinicianRead).toHaveCount(1);
    await expect(clinicianRead).toContainText(`HPR-nr. ${hprNumber}, org.nr. ${orgNumber}`);
    await expect(clinicianRead).toContainText('behandling');
    await expect(clinicianRead).toContainText('navn og personopplysninger');
    await expect(clinicianRead).toContainText('fastlege');
    const rows = await table.getByRole('row').allInnerTexts();
    const clinicianIndex = rows.findIndex((r) => r.includes('Helsepersonell'));
    const ownIndex = rows.findIndex((r) => r.includes('Innbygger') && r.includes('fastlege'));
    expect(clinicianIndex).toBeGreaterThan(0);
    expect(clinicianIndex).toBeLessThan(ownIndex);
    await checkView(page, '10-logg-over-bruk');
  });

  test('pages through a long log', async ({ page, request }) => {
    const { token } = fixture.clinician;
    for (let i = 0; i < 21; i += 1) {
      const response = await request.post(`${fixture.openUrl}/graphql`, {
        headers: { authorization: `Bearer ${token}`, 'x-purpose': `oppslag ${i + 1}` },
        data: {
          query: 'query ($nin: ID!) { person(nin: $nin) { name { full } } }',
          variables: { nin: fixture.withoutGp.nin },
        },
      });
      expect(response.status()).toBe(200);
    }
    await signIn(page, fixture.withoutGp.nin);
    await openView(page, 'Logg over bruk');
    const table = page.getByRole('table', { name: /Oppslag 1–20 av/ });
    await expect(table.getByRole('row')).toHaveCount(21);
    await expect(table.getByRole('row').nth(1)).toContainText('Innbygger');
    await expect(table.getByRole('row').filter({ hasText: 'oppslag 21' })).toHaveCount(1);
    const pager = page.getByRole('navigation', { name: 'Sider i loggen' });
    await pager.getByRole('button', { name: 'Neste side' }).click();
    await expect(page.getByRole('table', { name: /Oppslag 21–/ })).toBeVisible();
    await expect(page.getByRole('table', { name: /Oppslag 21–/ })).toContainText('oppslag 1');
    await checkView(page, '11-logg-over-bruk-side-2');
  });
});

test.describe('narrow screens', () => {
  test.use({ viewport: { width: 360, height: 740 } });

  test('the views reflow on a phone and still pass axe-core', async ({ page }) => {
    await signIn(page, fixture.withGp.nin);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(360);
    await checkView(page, '14-min-fastlege-mobil');
    await openView(page, 'Logg over bruk');
    await expect(page.getByRole('table', { name: /Oppslag/ })).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await checkView(page, '15-logg-over-bruk-mobil');
  });
});
