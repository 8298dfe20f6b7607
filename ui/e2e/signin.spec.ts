import { test, expect } from '@playwright/test';
import { screenshot, signIn, tokenOf } from './support';

test('an unknown token is refused with a clear message', async ({ page }) => {
  await page.goto('/devices');
  await expect(page.getByRole('heading', { name: 'ACS console' })).toBeVisible();
  await screenshot(page, 'signin');
  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('This token is not known to the NBI')).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' })).toHaveCount(0);
});

test('each role signs in, sees every page in the navigation, and signs out', async ({ page }) => {
  for (const role of ['admin', 'operator', 'readonly'] as const) {
    await signIn(page, role, '/devices');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Overview', 'Devices', 'Faults', 'Alarms', 'Presets', 'Files', 'Campaigns', 'Admin']) {
      await expect(nav.getByRole('link', { name })).toBeVisible();
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByLabel('Token')).toBeVisible();
  }
});

test('the sign-in survives a reload of the tab and is keyboard-operable', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Token').fill(tokenOf('operator'));
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Signed in as operator')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Signed in as operator')).toBeVisible();
  // the skip link is the first stop of the keyboard and leads to the page
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
});
