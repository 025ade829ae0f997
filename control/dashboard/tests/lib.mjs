// What the dashboard's browser tests share: the stack's addresses from the
// environment, the browser, screenshots, waiting, and the accessibility
// check every screen passes. See flow.mjs and onboarding.mjs.

import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** An environment variable the tests cannot run without, trailing slashes removed. */
export const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see the top of flow.mjs)`);
  return value.replace(/\/+$/, '');
};

const shots = process.env.PORTICO_SCREENSHOTS_DIR || join(root, 'target/dashboard-screenshots');
const chromiumPath = process.env.PORTICO_CHROMIUM || '/usr/bin/chromium';
mkdirSync(shots, { recursive: true });

// Generous: a loaded 2-core machine runs wrangler, the verifier and chromium at once.
export const STEP_MS = 30_000;
export const CONNECT_MS = 120_000;

/** Unique per run, so that running a test again against the same stack works. */
export const run = Date.now().toString(36).slice(-6);

export async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Headless chromium; `hosts` (customers' domains) resolve to loopback, where the edge is. */
export function launch(hosts, ports) {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      ...(hosts.length ? [`--host-resolver-rules=${hosts.map((host) => `MAP ${host} 127.0.0.1`).join(', ')}`] : []),
      `--explicitly-allowed-ports=${ports.join(',')}`,
      // Straight to loopback, whatever proxy the environment names.
      '--no-proxy-server',
    ],
  });
}

/** Collects script errors and console errors (other than the API's expected 4xx answers). */
export function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404|409|422)/.test(msg.text())) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  return problems;
}

/** Steps that need the ones before them: after a failure the rest are skipped. */
export function stepper(t) {
  let failed = false;
  return (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

/** Waits for `probe` to return a truthy value; retries on errors until the deadline. */
export async function eventually(what, probe, timeoutMs = CONNECT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Every form control has an accessible name (a label, aria-label or aria-labelledby). */
export async function unlabelledControls(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]') && !el.classList.contains('visually-hidden'))
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')
      && !(el.tagName === 'BUTTON' && el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 120)));
}
