import { test, expect } from '@playwright/test';
import { CONSOLE_URL, devices, nbi, screenshot, signIn, tokenOf, until } from './support';

const FILE = 'e2e-firmware-2.0.bin';
const FILE_OTHER_OUI = 'e2e-firmware-other-oui.bin';

/** Puts a firmware file on the file server (raw bytes, so not through support's JSON nbi()). */
async function putFirmware(name: string, extra: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${CONSOLE_URL()}/api/files/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${tokenOf('admin')}`, fileType: '1 Firmware Upgrade Image', version: '2.0', ...extra },
    body: new Uint8Array(64 * 1024).fill(0x5a),
  });
  if (!res.ok) throw new Error(`upload of ${name}: ${res.status} ${await res.text()}`);
}

interface CampaignView {
  status: string;
  total: number;
  counts: Record<string, number>;
}

test('an operator starts a staged campaign and watches it progress to the end', async ({ page }) => {
  const all = devices();
  await putFirmware(FILE);
  const name = `e2e-rollout-${Date.now()}`;
  await signIn(page, 'operator', '/campaigns');
  await expect(page.getByRole('heading', { level: 1, name: 'Campaigns' })).toBeVisible();
  await page.getByRole('button', { name: 'New campaign' }).click();

  // a refusal before sending: the query is not JSON
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Firmware file').selectOption(FILE);
  await page.getByLabel('Devices (NBI query)').fill('{"_id": ');
  await page.getByRole('button', { name: 'Start campaign' }).click();
  await expect(page.getByText(/not valid JSON/)).toBeVisible();

  // every simulated CPE, a canary of one, then waves twice as large, two downloads at a time
  await page.getByLabel('Devices (NBI query)').fill(JSON.stringify({ _id: { $in: all.map((d) => d.id) } }));
  await page.getByLabel('Canary (% of devices)').fill(String(100 / all.length));
  await page.getByLabel('Wave growth (× previous wave)').fill('2');
  await page.getByLabel('Downloads at once').fill('2');
  await page.getByLabel('Pause when failed above (%)').fill('50');
  await page.getByRole('button', { name: 'Start campaign' }).click();

  // the campaign opens and its progress moves without a reload
  const detail = page.getByRole('region', { name: new RegExp(`Campaign ${name}`) });
  await expect(detail).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`c=${name}`));
  const bar = detail.getByRole('progressbar', { name: `Campaign ${name} progress` });
  const waves = detail.getByRole('table', { name: `Campaign ${name} devices per wave` });
  await expect(waves.getByRole('row', { name: /Canary/ })).toBeVisible();
  // at least one device finishes while we watch; screenshot mid-way when the chart has moved
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 120_000 }).toBeGreaterThan(0);
  await screenshot(page, 'campaigns');

  await expect(detail.getByText('done', { exact: true }).first()).toBeVisible({ timeout: 240_000 });
  await expect(bar).toHaveAttribute('aria-valuenow', '100', { timeout: 240_000 });
  await expect(waves.getByRole('row', { name: /Wave 1/ })).toBeVisible();
  const final = await nbi<CampaignView>('GET', `/campaigns/${name}`);
  expect(final.status).toBe('done');
  expect(final.counts.done + final.counts.failed).toBe(all.length);
  expect(final.counts.done).toBeGreaterThan(0);

  // the list shows it finished; the detail can be closed with the keyboard
  const row = page.getByRole('table', { name: 'Campaigns' }).getByRole('row', { name: new RegExp(name) });
  await expect(row.getByText('done')).toBeVisible();
  await detail.getByRole('button', { name: 'Close' }).focus();
  await page.keyboard.press('Enter');
  await expect(detail).toBeHidden();
});

test('a failing canary pauses the campaign; an operator resumes and aborts it; readonly cannot', async ({ page, browser }) => {
  const all = devices();
  // a file for another OUI: the file server refuses it to these devices, so their downloads fail
  await putFirmware(FILE_OTHER_OUI, { oui: 'FFFFFE' });
  const name = `e2e-abort-${Date.now()}`;
  await signIn(page, 'operator', '/campaigns');
  await page.getByRole('button', { name: 'New campaign' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Firmware file').selectOption(FILE_OTHER_OUI);
  await page.getByLabel('Devices (NBI query)').fill(JSON.stringify({ _id: { $in: [all[2].id, all[3].id] } }));
  await page.getByLabel('Canary (% of devices)').fill('50');
  await page.getByLabel('Pause when failed above (%)').fill('0');
  await page.getByRole('button', { name: 'Start campaign' }).click();

  const detail = page.getByRole('region', { name: new RegExp(`Campaign ${name}`) });
  await expect(detail.getByText(/paused: 1 of 1 devices failed in the canary/)).toBeVisible({ timeout: 180_000 });
  await detail.getByRole('button', { name: 'Resume' }).click();
  await expect(detail.getByRole('row', { name: /Wave 1/ })).toBeVisible({ timeout: 60_000 });
  page.once('dialog', (d) => void d.accept());
  await detail.getByRole('button', { name: 'Abort' }).click();
  await expect(detail.getByText('aborted', { exact: true }).first()).toBeVisible();
  await until(async () => (await nbi<CampaignView>('GET', `/campaigns/${name}`)).status === 'aborted', 30_000, 'the abort');

  const ro = await browser.newPage();
  await signIn(ro, 'readonly', `/campaigns?c=${name}`);
  await expect(ro.getByText('Starting a campaign needs the operator role.')).toBeVisible();
  await expect(ro.getByRole('button', { name: 'New campaign' })).toHaveCount(0);
  await expect(ro.getByRole('region', { name: new RegExp(`Campaign ${name}`) })).toBeVisible();
  await ro.close();
});
