// Time until the console's Devices page shows its first page of rows, in Debian's Chromium.
// Used by benchmarks/console.py: node devices-first-page.mjs <console url> <token> <rows> <runs> [path]
// Prints JSON: cold (first load, nothing cached) and warm (reloads) times in ms, and the
// browser's own timing of the /api/devices/ call.
import { chromium } from 'playwright-core';

const [url, token, rowsArg, runsArg, pathArg] = process.argv.slice(2);
const path = pathArg ?? '/devices';
const rows = Number(rowsArg ?? 25);
const runs = Number(runsArg ?? 5);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript((t) => sessionStorage.setItem('acs-console-token', t), token);
  const page = await context.newPage();
  const rowLocator = page.locator('table[aria-busy] tbody tr a');
  async function once() {
    const t0 = Date.now();
    await page.goto(`${url}${path}`, { waitUntil: 'commit' });
    await rowLocator.nth(rows - 1).waitFor({ state: 'visible', timeout: 60_000 });
    const ms = Date.now() - t0;
    const api = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/devices/')).map((e) => e.duration));
    return { ms, api: api.length ? api[api.length - 1] : null };
  }
  const cold = await once();
  const warm = [];
  for (let i = 0; i < runs; i++) warm.push(await once());
  const sorted = (xs) => [...xs].sort((a, b) => a - b);
  const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
  console.log(JSON.stringify({
    cold_ms: cold.ms,
    warm_median_ms: median(warm.map((w) => w.ms)),
    warm_max_ms: Math.max(...warm.map((w) => w.ms)),
    api_median_ms: Math.round(median(warm.map((w) => w.api ?? 0))),
  }));
} finally {
  await browser.close();
}
