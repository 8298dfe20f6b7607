import { test, expect } from '@playwright/test';
import { devices, screenshot, signIn } from './support';

test('an operator finds a device by serial and opens it', async ({ page }) => {
  const [first] = devices();
  await signIn(page, 'operator', '/devices');
  const table = page.getByRole('table', { name: 'Devices' });
  // every simulated CPE is listed before any search
  for (const d of devices()) await expect(table.getByRole('link', { name: d.serial, exact: true })).toBeVisible();
  await screenshot(page, 'devices');

  // sorting happens on the server: by serial, ascending then descending
  const sortBySerial = table.getByRole('button', { name: /Serial number/ });
  const serials = devices().map((d) => d.serial).sort();
  await sortBySerial.click();
  await expect(table.getByRole('columnheader', { name: /Serial number/ })).toHaveAttribute('aria-sort', 'ascending');
  await expect(table.getByRole('row').nth(1)).toContainText(serials[0]);
  await sortBySerial.click();
  await expect(table.getByRole('row').nth(1)).toContainText(serials[serials.length - 1]);

  await page.getByLabel('Serial number').fill(first.serial);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`serial=${encodeURIComponent(first.serial)}`));
  await expect(table.getByRole('row')).toHaveCount(2); // header + the one device
  await table.getByRole('link', { name: first.serial, exact: true }).click();

  await expect(page).toHaveURL(/\/devices\/.+/);
  await expect(page.getByRole('heading', { level: 1, name: first.serial })).toBeVisible();
  await expect(page.getByTestId('presence')).toHaveText('online');
});

test('filters combine, survive in the URL, and can be saved', async ({ page }) => {
  const all = devices();
  await signIn(page, 'operator', '/devices');
  await page.getByLabel('Product class').fill(all[0].productClass);
  await page.getByLabel('Last inform').selectOption('1h');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const table = page.getByRole('table', { name: 'Devices' });
  await expect(table.getByRole('row')).toHaveCount(all.length + 1);

  page.once('dialog', (d) => void d.accept('simulated'));
  await page.getByRole('button', { name: 'Save filter…' }).click();
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByLabel('Serial number').fill('no-such-serial');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.getByText('No device matches this search')).toBeVisible();
  await page.getByLabel('Saved filters').selectOption('simulated');
  await expect(table.getByRole('row')).toHaveCount(all.length + 1);

  await page.reload();
  await expect(page.getByLabel('Product class')).toHaveValue(all[0].productClass);
  await expect(table.getByRole('row')).toHaveCount(all.length + 1);
});

test('a bulk tag reaches every selected device, with progress', async ({ page }) => {
  const all = devices();
  await signIn(page, 'operator', '/devices');
  const table = page.getByRole('table', { name: 'Devices' });
  await expect(table.getByRole('link', { name: all[0].serial, exact: true })).toBeVisible();
  await page.getByLabel('Select all rows on this page').check();
  await page.getByRole('combobox', { name: 'Action', exact: true }).selectOption('tag');
  await page.getByLabel('Tag to add or remove').fill('e2e-bulk');
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page.getByRole('progressbar', { name: 'Bulk action progress' })).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByText(`Add tag: ${all.length} of ${all.length} done`)).toBeVisible();
  await page.getByLabel('Tag', { exact: true }).fill('e2e-bulk');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(table.getByRole('row')).toHaveCount(all.length + 1);
});

test('the devices page works at a tablet width', async ({ page }) => {
  await page.setViewportSize({ width: 820, height: 1180 });
  await signIn(page, 'operator', '/devices');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Campaigns' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Devices' });
  await expect(table.getByRole('link', { name: devices()[0].serial, exact: true })).toBeVisible();
  // nothing forces the page itself wider than the screen (the table scrolls in its own box)
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, 'devices-tablet');
});
