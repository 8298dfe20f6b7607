/**
 * What every spec shares: the stack's addresses and tokens (set by tests/ui's pytest driver),
 * signing in as a role, NBI calls for set-up and checks, and screenshots for docs/ui/.
 */
import { expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Role = 'admin' | 'operator' | 'readonly';

/** A required environment variable; a spec run without the driver fails with a clear message. */
export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through tests/ui (pytest), which starts the stack`);
  return v;
}

export const CONSOLE_URL = () => env('CONSOLE_URL');

/** The token of a role: ADMIN_TOKEN, OPERATOR_TOKEN, READONLY_TOKEN. */
export function tokenOf(role: Role): string {
  return env(`${role.toUpperCase()}_TOKEN`);
}

/**
 * The simulated CPEs the driver started, as `[{id, serial, oui, productClass}]` (DEVICES, JSON).
 * They have informed at least once before the specs start.
 */
export interface SimDevice {
  id: string;
  serial: string;
  oui: string;
  productClass: string;
}
export function devices(): SimDevice[] {
  return JSON.parse(env('DEVICES')) as SimDevice[];
}

/** Signs in through the sign-in form and waits for the signed-in layout. */
export async function signIn(page: Page, role: Role, path = '/overview'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('Token').fill(tokenOf(role));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await expect(page.getByLabel(`Signed in as ${role}`)).toBeVisible();
}

/**
 * An NBI call from the spec itself (set-up, or checking what the UI did), through the console's
 * /api like the browser's calls. Throws on a non-2xx answer.
 */
export async function nbi<T = unknown>(method: string, path: string, body?: unknown, role: Role = 'admin'): Promise<T> {
  const res = await fetch(`${CONSOLE_URL()}/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${tokenOf(role)}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (no fixed sleeps). */
export async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? join(REPO_ROOT, 'docs', 'ui');

/** Saves a full-page screenshot as docs/ui/<name>.png for the README. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  return path;
}
