import { test, expect } from '@playwright/test';
import { env, nbi, screenshot, signIn, until } from './support';

/** What tests/ui seeded in MongoDB as the telemetry writer stores it (MONITORING, JSON). */
interface Monitoring {
  device: string;
  serial: string;
  parameter: string;
  rule: string;
  alarm: string;
  cleared: string;
}
const monitoring = (): Monitoring => JSON.parse(env('MONITORING')) as Monitoring;

interface Alarm {
  _id: string;
  state: string;
  acknowledged?: boolean;
}

test('the raised alarm shows; the operator acknowledges it and a readonly user cannot', async ({ page, browser }) => {
  const m = monitoring();
  await signIn(page, 'operator', '/alarms');
  await expect(page.getByRole('heading', { level: 1, name: 'Alarms' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByLabel(/active alarms$/)).toBeVisible();
  const table = page.getByRole('table', { name: 'Alarms' });
  await expect(table.getByRole('link', { name: m.device })).toBeVisible();
  await expect(table.getByText('cleared', { exact: true })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Alarm rules' }).getByText(m.rule)).toBeVisible();
  await screenshot(page, 'alarms');

  await page.getByLabel('State', { exact: true }).selectOption('raised');
  await page.getByLabel('Rule', { exact: true }).selectOption(m.rule);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(/state=raised/);
  const ack = page.getByRole('button', { name: `Acknowledge alarm ${m.alarm}` });
  await expect(ack).toBeEnabled();
  await expect(page.getByRole('button', { name: `Acknowledge alarm ${m.cleared}` })).toHaveCount(0);

  // readonly sees the alarm but may not acknowledge it, and the NBI refuses it anyway
  const ro = await browser.newPage();
  await signIn(ro, 'readonly', '/alarms?state=raised');
  await expect(ro.getByRole('button', { name: `Acknowledge alarm ${m.alarm}` })).toBeDisabled();
  await expect(ro.getByText('Acknowledging alarms needs the operator role.')).toBeVisible();
  await expect(ro.getByRole('button', { name: 'New rule' })).toHaveCount(0);
  await ro.close();
  await expect(nbi('POST', `/alarms/${encodeURIComponent(m.alarm)}/ack`, undefined, 'readonly')).rejects.toThrow(/403/);

  await ack.click();
  await expect(ack).toHaveCount(0);
  await expect(table.getByText('raised, acknowledged')).toBeVisible();
  await until(async () => {
    const as = await nbi<Alarm[]>('GET', `/alarms?device=${encodeURIComponent(m.device)}&rule=${encodeURIComponent(m.rule)}`);
    return as.length === 1 && as[0].acknowledged === true && as[0].state === 'raised';
  }, 30_000, 'the alarm to be acknowledged');
});

test('an admin creates a rule (the NBI says what is missing), edits and deletes it', async ({ page }) => {
  const name = `ui-e2e-rule-${Date.now().toString(36)}`;
  await signIn(page, 'admin', '/alarms');
  await page.getByRole('button', { name: 'New rule' }).click();
  await page.getByLabel('Rule name').fill(name);
  await page.getByLabel('Parameter', { exact: true }).fill('InternetGatewayDevice.DeviceInfo.MemoryStatus.Free');
  await page.getByLabel('Operator').selectOption('<');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await expect(page.getByText(/^The NBI refused it: .*value must be a number/)).toBeVisible();

  await page.getByLabel('Limit').fill('2048');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await expect(page.getByRole('button', { name: `Delete rule ${name}` })).toBeVisible();
  const stored = await nbi<Array<{ _id: string; op: string; value: number }>>('GET', '/alarm-rules');
  expect(stored.find((r) => r._id === name)).toMatchObject({ op: '<', value: 2048 });

  await page.getByRole('button', { name: `Edit rule ${name}` }).click();
  await page.getByLabel('Severity').selectOption('warning');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await until(async () => {
    const rs = await nbi<Array<{ _id: string; severity: string }>>('GET', '/alarm-rules');
    return rs.find((r) => r._id === name)?.severity === 'warning';
  }, 30_000, 'the edited rule');

  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: `Delete rule ${name}` }).click();
  await expect(page.getByRole('button', { name: `Delete rule ${name}` })).toHaveCount(0);
  const left = await nbi<Array<{ _id: string }>>('GET', '/alarm-rules');
  expect(left.map((r) => r._id)).not.toContain(name);
});

test("a device's KPI history is drawn, down-sampled hours included", async ({ page }) => {
  const m = monitoring();
  await signIn(page, 'readonly', `/devices/${encodeURIComponent(m.device)}`);
  await expect(page.getByRole('heading', { level: 1, name: m.serial })).toBeVisible();
  const panel = page.locator('section.kpi-history');
  await expect(panel.getByRole('heading', { name: 'KPI history' })).toBeVisible();
  await expect(panel.getByLabel('Parameter', { exact: true })).toHaveValue(m.parameter);
  const chart = panel.getByRole('img', { name: `History of ${m.parameter}` });
  await expect(chart).toBeVisible();
  await expect(chart.locator('.recharts-line-curve').first()).toBeVisible();
  await expect(panel.getByText(/down-sampled hours? drawn as their average between min and max/)).toBeVisible();
  await panel.scrollIntoViewIfNeeded();
  await screenshot(page, 'device-history');

  await panel.getByLabel('Time range').selectOption('1h');
  await expect(panel.getByText(/down-sampled/)).toHaveCount(0);
  await expect(chart.locator('.recharts-line-curve').first()).toBeVisible();
});
