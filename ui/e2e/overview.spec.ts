import { test, expect } from '@playwright/test';
import { devices, nbi, screenshot, signIn } from './support';

interface Overview {
  devices: { total: number; online: number; stale: number; never: number };
}

test('the overview counts the simulated fleet and links to its devices', async ({ page }) => {
  const all = devices();
  await signIn(page, 'readonly', '/overview');
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  const tiles = page.getByRole('list', { name: 'Fleet summary' });
  // the simulated CPEs informed within the last 5 minutes (the default window)
  const o = await nbi<Overview>('GET', '/overview', undefined, 'readonly');
  expect(o.devices.online).toBeGreaterThanOrEqual(all.length);
  await expect(tiles.getByRole('link', { name: /^Devices: \d+$/ })).toBeVisible();
  await expect(tiles.getByRole('link', { name: /^Online \(informed within 5 min\): \d+$/ })).toBeVisible();
  const models = page.getByRole('table', { name: 'Models' });
  await expect(models.getByRole('link', { name: new RegExp(all[0].productClass) })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Firmware' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Informs per minute' })).toBeVisible();
  await screenshot(page, 'overview');

  // a wider window is asked of the NBI and named in the tile
  await page.getByLabel('Online means informed within').selectOption('3600');
  await expect(tiles.getByRole('link', { name: /^Online \(informed within 1 h\): \d+$/ })).toBeVisible();

  // a model links to the device search for it
  await models.getByRole('link', { name: new RegExp(all[0].productClass) }).click();
  await expect(page).toHaveURL(new RegExp(`/devices\\?productClass=${all[0].productClass}`));
  await expect(page.getByRole('table', { name: 'Devices' }).getByRole('link', { name: all[0].serial, exact: true })).toBeVisible();
});

test('the overview works at tablet width and by keyboard', async ({ page }) => {
  await page.setViewportSize({ width: 800, height: 1024 });
  await signIn(page, 'readonly', '/overview');
  const tiles = page.getByRole('list', { name: 'Fleet summary' });
  await expect(tiles).toBeVisible();
  // no horizontal scrolling of the page at tablet width
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  // the window select is reachable and usable from the keyboard
  await page.getByLabel('Online means informed within').focus();
  await expect(page.getByLabel('Online means informed within')).toBeFocused();
  await screenshot(page, 'overview-tablet');
});
