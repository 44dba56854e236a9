// How fast "Min fastlege" renders in Chromium: `node scripts/bench-render.mjs <server url> <nin> <runs>`.
// Each run opens a new browser context (empty cache: a first visit), loads the sign-in page, signs in as the
// citizen through the demo sign-in, and waits until Min fastlege shows the citizen's GP. Prints JSON.
import { chromium } from '@playwright/test';

const [url, nin, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 20);
if (!url || !nin || !Number.isInteger(runs) || runs < 1) {
  console.error('usage: node scripts/bench-render.mjs <server url> <nin> <runs>');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.HELSEGRAF_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const samples = { load: [], signInToRender: [], loadToRender: [] };
try {
  for (let i = 0; i < runs + 2; i += 1) {
    const context = await browser.newContext({ locale: 'nb-NO' });
    const page = await context.newPage();
    await page.goto(`${url}/app/logg-inn`);
    const button = page.getByRole('button', { name: new RegExp(`fødselsnummer ${nin}`) });
    await button.waitFor();
    // Click and wait inside the page, so that the numbers are the browser's own, without Playwright's round trips.
    const [ready, clicked, rendered] = await page.evaluate(async (who) => {
      const start = performance.now();
      const target = [...document.querySelectorAll('button')].find((b) => b.textContent?.includes(who));
      const shown = () =>
        document.querySelector('[data-view="min-fastlege"] .gp-name, [data-view="min-fastlege"] .missing');
      const at = performance.now();
      target?.click();
      await new Promise((resolve) => {
        if (shown()) resolve(undefined);
        new MutationObserver((_, observer) => {
          if (shown()) {
            observer.disconnect();
            resolve(undefined);
          }
        }).observe(document.body, { childList: true, subtree: true });
      });
      return [start, at, performance.now()];
    }, nin);
    if (i >= 2) {
      // two warm-up runs: the server's first requests pay for its start
      samples.load.push(ready);
      samples.signInToRender.push(rendered - clicked);
      samples.loadToRender.push(rendered);
    }
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(samples)}\n`);
