import { test, expect, type Page } from '@playwright/test';
import { devices, nbi, screenshot, signIn } from './support';

const SSID = 'InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID';

async function openDevice(page: Page, role: 'operator' | 'readonly' | 'admin', index = 0) {
  const d = devices()[index];
  await signIn(page, role, `/devices/${encodeURIComponent(d.id)}`);
  await expect(page.getByRole('heading', { level: 1, name: d.serial })).toBeVisible();
  return d;
}

test('an operator changes a parameter and sees the task complete and the new value', async ({ page }) => {
  const d = await openDevice(page, 'operator');
  const value = `console-${Date.now().toString(36)}`;
  await page.getByLabel('Search parameters').fill('WLANConfiguration.1.SSID');
  await page.getByRole('button', { name: `Edit ${SSID}`, exact: true }).click();
  await page.getByLabel(`New value of ${SSID}`, { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Save' }).click();

  const row = page.locator('tr[data-task="setParameterValues"]').first();
  await expect(row).toContainText(value);
  await expect(row.getByTestId('task-status')).toHaveText('done');
  await expect(page.getByTestId(`value-${SSID}`)).toHaveText(value);
  await screenshot(page, 'device');

  // the NBI's own record agrees
  const [doc] = await nbi<Array<Record<string, unknown>>>('GET', `/devices/?query=${encodeURIComponent(JSON.stringify({ _id: d.id }))}&projection=${SSID}`);
  expect(JSON.stringify(doc)).toContain(value);
});

test('a value of the wrong type is refused before anything is sent', async ({ page }) => {
  await openDevice(page, 'operator');
  const path = 'InternetGatewayDevice.ManagementServer.PeriodicInformInterval';
  await page.getByLabel('Search parameters').fill('PeriodicInformInterval');
  const edit = page.getByRole('button', { name: `Edit ${path}`, exact: true });
  await expect(edit).toBeVisible();
  await edit.click();
  await page.getByLabel(`New value of ${path}`, { exact: true }).fill('soon');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('xsd:unsignedInt needs a whole number')).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
});

test('a subtree refresh shows its task finish', async ({ page }) => {
  await openDevice(page, 'operator', 1);
  await page.getByRole('button', { name: 'Refresh InternetGatewayDevice', exact: true }).click();
  const row = page.locator('tr[data-task="refreshObject"]').first();
  await expect(row.getByTestId('task-status')).toHaveText('done');
});

test('an operator reboots a device and sees the reboot done', async ({ page }) => {
  await openDevice(page, 'operator', 2);
  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: 'Reboot' }).click();
  const row = page.locator('tr[data-task="reboot"]').first();
  await expect(row).toBeVisible();
  await expect(row.getByTestId('task-status')).toHaveText('done', { timeout: 120_000 });
});

test('a readonly user cannot edit: no controls, and the NBI refuses anyway', async ({ page }) => {
  const d = await openDevice(page, 'readonly');
  await expect(page.getByText('Your role (readonly) cannot send tasks to devices.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Reboot' })).toHaveCount(0);
  await page.getByLabel('Search parameters').fill('WLANConfiguration.1.SSID');
  await expect(page.getByTestId(`value-${SSID}`)).toBeVisible();
  await expect(page.getByRole('button', { name: /^Edit / })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Add tag' })).toHaveCount(0);
  await screenshot(page, 'device-readonly');

  await page.getByRole('link', { name: 'Devices' }).click();
  await expect(page.getByRole('table', { name: 'Devices' }).getByRole('link', { name: d.serial, exact: true })).toBeVisible();
  await expect(page.getByRole('checkbox')).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Bulk action' })).toHaveCount(0);

  await expect(nbi('POST', `/devices/${encodeURIComponent(d.id)}/tasks`, { name: 'reboot' }, 'readonly')).rejects.toThrow(/403/);
});

test('an operator runs a ping and sees its result as it arrives', async ({ page }) => {
  await openDevice(page, 'operator', 3);
  await page.getByLabel('Diagnostic', { exact: true }).selectOption('ipPing');
  await page.getByLabel('Host', { exact: true }).fill('192.0.2.10');
  await page.getByRole('button', { name: 'Run diagnostic' }).click();
  const row = page.locator('tr[data-task="ipPing"]').first();
  await expect(row.getByTestId('task-status')).toHaveText('done');
  const result = page.getByRole('group', { name: 'Ping result' });
  await expect(result.getByTestId('diag-state-ipPing')).toHaveText('Complete');
  await expect(result).toContainText('SuccessCount');
});
