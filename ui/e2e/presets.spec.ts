import { test, expect } from '@playwright/test';
import { nbi, screenshot, signIn } from './support';

test("an admin writes a preset, sees the NBI's validation message, fixes it and deletes it", async ({ page }) => {
  const name = `e2e-preset-${Date.now()}`;
  await signIn(page, 'admin', '/presets');
  await expect(page.getByRole('heading', { level: 1, name: 'Presets' })).toBeVisible();
  await page.getByRole('button', { name: 'New preset' }).click();
  await page.getByLabel('Preset name').fill(name);
  const editor = page.getByLabel('Preset (JSON)');
  const body = {
    weight: 'heavy',
    channel: 'e2e',
    events: { '1 BOOT': true },
    precondition: { _tags: 'e2e-never-matches' },
    configurations: [{ type: 'value', name: 'InternetGatewayDevice.ManagementServer.PeriodicInformInterval', value: 600 }],
  };
  await editor.fill(JSON.stringify(body, null, 2));
  await page.getByRole('button', { name: 'Save preset' }).click();
  // the NBI's own message, under the editor
  await expect(page.getByText(/The NBI refused it: weight must be an integer/)).toBeVisible();
  await expect(editor).toHaveAttribute('aria-invalid', 'true');

  await editor.fill(JSON.stringify({ ...body, weight: 5 }, null, 2));
  await page.getByRole('button', { name: 'Save preset' }).click();
  await expect(page.getByText(`Preset ${name} saved`)).toBeVisible();
  const row = page.getByRole('table', { name: 'Presets' }).getByRole('row', { name: new RegExp(name) });
  await expect(row).toContainText('1 BOOT');
  const stored = await nbi<{ weight: number; channel: string }>('GET', `/presets/${name}`);
  expect(stored).toMatchObject({ weight: 5, channel: 'e2e' });
  await screenshot(page, 'presets');

  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await expect(row).toHaveCount(0);
});

test('an operator reads presets but cannot edit them', async ({ page }) => {
  const name = `e2e-ro-${Date.now()}`;
  await nbi('PUT', `/presets/${name}`, { weight: 0, channel: 'e2e', events: { '1 BOOT': true }, precondition: '{"_tags": "none"}', configurations: [] });
  await signIn(page, 'operator', '/presets');
  await page.getByRole('button', { name, exact: true }).click();
  await expect(page.getByLabel('Preset (JSON)')).toHaveAttribute('readonly', '');
  await expect(page.getByRole('button', { name: 'Save preset' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'New preset' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: `Delete ${name}` })).toBeDisabled();
  await nbi('DELETE', `/presets/${name}`);
});
