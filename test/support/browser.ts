/**
 * Browser tests drive Debian's chromium (/usr/bin/chromium, `apt-get install -y chromium`; CI
 * installs it) through playwright-core, never a downloaded browser. Screenshots go to
 * test-artifacts/screenshots/ (git-ignored), kept as the run's artifacts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { projectRoot } from '../../engine/paths';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const SCREENSHOT_DIR = path.join(projectRoot(), 'test-artifacts', 'screenshots');

/** In a mocha `before`: skip the suite (loudly) without chromium, unless CI=true. */
export function requireChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing and CI=true: apt-get install -y chromium`);
  console.warn(`\n  !!! ${CHROMIUM} is missing (apt-get install -y chromium): SKIPPING "${ctx.test?.parent?.fullTitle()}"\n`);
  ctx.skip();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A full-page PNG under test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Opens `target` without a session, expects the redirect to /signin?next=..., signs in through
 * the form and waits to land back on `target` with the user shown in the header.
 */
export async function signIn(page: Page, baseUrl: string, user: { username: string; password: string }, target = '/'): Promise<void> {
  await page.goto(baseUrl + target);
  await page.waitForURL((u) => u.pathname === '/signin' && u.searchParams.get('next') === target);
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL((u) => u.pathname + u.search === target), page.click('#submit')]);
  await page.waitForFunction((name) => document.getElementById('who-name')?.textContent === name, user.username);
}
