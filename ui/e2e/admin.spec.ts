import { test, expect } from '@playwright/test';
import { nbi, screenshot, signIn } from './support';

test('an admin sees the role table, creates a user and gives it a token shown once', async ({ page }) => {
  const user = `e2e-noc-${Date.now()}`;
  await signIn(page, 'admin', '/admin');
  await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
  const me = page.getByRole('region', { name: 'Signed in' });
  await expect(me).toContainText('admin');
  await expect(me).toContainText('a static token from NBI_TOKENS');
  const roles = page.getByRole('region', { name: 'What each role may do' });
  await expect(roles.getByRole('table', { name: 'Routes of the admin role' })).toContainText('/files/{name}');

  await page.getByRole('button', { name: 'New user' }).click();
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Role', { exact: true }).selectOption('operator');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'at least 10 characters' })).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create user' }).click();
  const users = page.getByRole('table', { name: 'Users' });
  await expect(users.getByRole('row', { name: new RegExp(user) })).toContainText('operator');

  await page.getByRole('button', { name: `Tokens of ${user}` }).click();
  const tokens = page.getByRole('region', { name: `API tokens of ${user}` });
  await expect(tokens.getByText('No token yet.')).toBeVisible();
  await screenshot(page, 'admin'); // before a token value is on the page
  await tokens.getByLabel('Token name').fill('e2e sync');
  await tokens.getByLabel('Token role').selectOption('readonly');
  await tokens.getByRole('button', { name: 'Create token' }).click();
  const value = await tokens.getByLabel('New token value').inputValue();
  expect(value.length).toBeGreaterThan(16);
  await expect(tokens.getByRole('table').getByRole('row', { name: /e2e sync/ })).toContainText('active');

  // the new token works, with its narrowed role
  const who = await fetch(`${process.env.CONSOLE_URL}/api/whoami`, { headers: { Authorization: `Bearer ${value}` } });
  expect((await who.json()).role).toBe('readonly');

  await tokens.getByRole('button', { name: 'Revoke token e2e sync' }).click();
  await expect(tokens.getByRole('row', { name: /e2e sync/ })).toContainText('revoked');
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: `Delete ${user}` }).click();
  await expect(users.getByRole('row', { name: new RegExp(user) })).toHaveCount(0);
  expect((await nbi<Array<{ name: string }>>('GET', '/users')).map((u) => u.name)).not.toContain(user);
});

test('a readonly user sees its role and what it may do, not the users', async ({ page }) => {
  await signIn(page, 'readonly', '/admin');
  await expect(page.getByRole('region', { name: 'Signed in' })).toContainText('readonly');
  await expect(page.getByText('Managing users needs the admin role.')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Users' })).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Routes of the readonly role' })).toBeVisible();
});
