import { test, expect } from '@playwright/test';
import { nbi, screenshot, signIn } from './support';

interface FileDoc {
  _id: string;
  length: number;
  metadata?: { fileType?: string; version?: string; md5?: string };
}

test('an admin uploads a firmware file with progress, sees it listed and deletes it', async ({ page }) => {
  const name = `e2e-upload-${Date.now()}.bin`;
  const bytes = Buffer.alloc(3 * 1024 * 1024, 0x41); // large enough for the progress bar to show
  await signIn(page, 'admin', '/files');
  await expect(page.getByRole('heading', { level: 1, name: 'Files' })).toBeVisible();
  await page.getByLabel('File', { exact: true }).setInputFiles({ name, mimeType: 'application/octet-stream', buffer: bytes });
  await page.getByLabel('Version').fill('3.1');
  await page.getByLabel('Product class').fill('IGD');
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(page.getByText(`Uploaded ${name}`)).toBeVisible({ timeout: 120_000 });

  const table = page.getByRole('table', { name: 'Files' });
  const row = table.getByRole('row', { name: new RegExp(name.replace(/\./g, '\\.')) });
  await expect(row).toContainText('3.0 MB');
  await expect(row).toContainText('1 Firmware Upgrade Image');
  const [stored] = await nbi<FileDoc[]>('GET', `/files/?query=${encodeURIComponent(JSON.stringify({ _id: name }))}`);
  expect(stored.length).toBe(bytes.length);
  expect(stored.metadata?.version).toBe('3.1');
  await screenshot(page, 'files');

  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await expect(row).toHaveCount(0);
  expect(await nbi<FileDoc[]>('GET', `/files/?query=${encodeURIComponent(JSON.stringify({ _id: name }))}`)).toEqual([]);
});

test('a readonly user sees files but cannot upload or delete', async ({ page }) => {
  await signIn(page, 'readonly', '/files');
  await expect(page.getByText('Uploading and deleting files needs the admin role.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Upload', exact: true })).toHaveCount(0);
  for (const b of await page.getByRole('button', { name: /^Delete / }).all()) await expect(b).toBeDisabled();
});
