import { defineConfig } from '@playwright/test';

// Playwright cannot download browsers here: it drives the system's Chromium (Debian's `chromium` package).
// As root, Chromium needs --no-sandbox; the other flags keep it from calling out to Google's services.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export default defineConfig({
  testDir: './tests',
  // The tests share one server and one database: they run one at a time, in file order.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results/output',
  use: {
    baseURL: process.env.HELSEGRAF_APP_URL,
    locale: 'nb-NO',
    timezoneId: 'Europe/Oslo',
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.HELSEGRAF_CHROMIUM ?? '/usr/bin/chromium',
      args: CHROMIUM_FLAGS,
    },
  },
});
