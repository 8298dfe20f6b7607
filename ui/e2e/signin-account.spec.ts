import { test, expect } from '@playwright/test';
import { nbi } from './support';

// A stored user (argon2 password, NBI users API) signs in to the console with a user name and
// password: the session's role decides the console; signing out revokes the session at the NBI.
test('a user signs in with a password, works as its role, and signs out', async ({ page }) => {
  const name = `op-${Date.now()}`;
  await nbi('PUT', `/users/${name}`, { password: 'correct horse battery', role: 'operator' });

  await page.goto('/devices');
  await page.getByRole('tab', { name: 'User account' }).click();
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Wrong user name or password')).toBeVisible();

  await page.getByLabel('Password').fill('correct horse battery');
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Signed in as operator')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Devices' })).toBeVisible();

  const session = await page.evaluate(() => sessionStorage.getItem('acs-console-token'));
  expect(session).toBeTruthy();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('tab', { name: 'User account' })).toBeVisible();
  const after = await fetch(`${process.env.CONSOLE_URL}/api/whoami`, { headers: { Authorization: `Bearer ${session}` } });
  expect(after.status).toBe(401); // the session was revoked, not only forgotten by the tab
});
