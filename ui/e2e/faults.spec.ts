import { test, expect } from '@playwright/test';
import { devices, nbi, screenshot, signIn, until } from './support';

interface Fault {
  _id: string;
  device: string;
  code: string;
}

test('an operator sees a task fault, searches for it and clears it; readonly cannot', async ({ page, browser }) => {
  const device = devices()[3];
  // a GetParameterValues of a parameter the CPE does not have faults (9005)
  await nbi('POST', `/devices/${encodeURIComponent(device.id)}/tasks?connection_request`, {
    name: 'getParameterValues', parameterNames: ['InternetGatewayDevice.NoSuchObject.NoSuchParameter'],
  }, 'operator');
  const q = encodeURIComponent(JSON.stringify({ device: device.id, channel: { $regex: '^task_' } }));
  const [fault] = await until(async () => {
    const fs = await nbi<Fault[]>('GET', `/faults/?query=${q}`);
    return fs.length ? fs : undefined;
  }, 120_000, 'the task fault');

  await signIn(page, 'operator', '/faults');
  await expect(page.getByRole('heading', { level: 1, name: 'Faults' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Faults' });
  await expect(table.getByRole('link', { name: device.id }).first()).toBeVisible();
  await screenshot(page, 'faults');

  await page.getByLabel('Device id contains').fill(device.serial);
  await page.getByLabel('Code').fill(fault.code);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`code=${encodeURIComponent(fault.code)}`));
  const row = table.getByRole('row', { name: new RegExp(fault.code.replace('.', '\\.')) }).filter({ hasText: fault._id.split(':')[1] });
  await expect(row).toHaveCount(1);

  // readonly sees the fault but its Clear is disabled
  const ro = await browser.newPage();
  await signIn(ro, 'readonly', `/faults?device=${encodeURIComponent(device.serial)}`);
  await expect(ro.getByRole('button', { name: `Clear fault ${fault._id}` })).toBeDisabled();
  await expect(ro.getByText('Clearing and retrying faults needs the operator role.')).toBeVisible();
  await ro.close();

  await page.getByRole('button', { name: `Clear fault ${fault._id}` }).click();
  await expect(page.getByRole('button', { name: `Clear fault ${fault._id}` })).toHaveCount(0);
  await until(async () => {
    const fs = await nbi<Fault[]>('GET', `/faults/?query=${encodeURIComponent(JSON.stringify({ _id: fault._id }))}`);
    return fs.length === 0;
  }, 30_000, 'the fault to be cleared');
});
