import { defineConfig } from '@playwright/test';

/**
 * The console's end-to-end run: Debian's Chromium (no browser download here), against the stack
 * that tests/ui/test_console_e2e.py starts and describes in CONSOLE_URL, ADMIN_TOKEN, ... .
 * One worker: the specs share one stack and the machine is small.
 */
export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 60_000 },
  reporter: [['list'], ['json', { outputFile: process.env.E2E_REPORT ?? 'e2e-report.json' }]],
  outputDir: process.env.E2E_OUTPUT ?? 'e2e-results',
  use: {
    baseURL: process.env.CONSOLE_URL ?? 'http://127.0.0.1:3000',
    viewport: { width: 1280, height: 800 },
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      // as root, in a closed network: no sandbox, and no background calls home
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    },
  },
});
