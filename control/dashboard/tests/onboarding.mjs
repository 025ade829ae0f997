// The dashboard's onboarding screens in a real browser, against a running
// local stack: a platform engineer adds a webhook endpoint (a receiver in
// this process, on loopback) and keeps the secret shown once; a customer
// adds many domains from a CSV file and a pasted list, sees one result per
// line and the records to create grouped by DNS zone (zone-file lines, a
// CSV download); the endpoint hears every domain.added, signed with that
// secret; its delivery log shows each attempt (a failing answer included),
// "Send again" redelivers with the same webhook-id, and the endpoint is
// switched off, rotated and removed. Same environment as flow.mjs:
//
//   PORTICO_API_URL=… PORTICO_EDGE_URL=… PORTICO_DNS_ADMIN_URL=… PORTICO_ADMIN_TOKEN=… \
//     node control/dashboard/tests/onboarding.mjs
//
// tests/tests/dashboard_browser.rs runs it after flow.mjs on the same stack.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import {
  need, STEP_MS, CONNECT_MS, run, shot, launch, watchProblems, stepper, eventually, unlabelledControls,
} from './lib.mjs';

const api = need('PORTICO_API_URL');
const adminToken = need('PORTICO_ADMIN_TOKEN');
const username = `bulk${run}`;
const platformHost = `${username}.portico.test`;
const zoneA = `many${run}.test`;
const zoneB = `shop${run}.test`;

/** A webhook receiver: keeps every request, answers `answer.status` with `answer.body`. */
async function receiver() {
  const received = [];
  const answer = { status: 200, body: 'ok' };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      received.push({ headers: req.headers, body, status: answer.status });
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { received, answer, url: `http://127.0.0.1:${server.address().port}/hooks/portico`, server };
}

/**
 * The Standard Webhooks signature check, written from the specification:
 * HMAC-SHA256 over `id.timestamp.body` with the base64 key after `whsec_`,
 * matching one of the space-separated `v1,<base64>` signatures. (The Rust
 * tests check the same with the published standardwebhooks library.)
 */
function signedWith(secret, message) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const id = message.headers['webhook-id'];
  const timestamp = message.headers['webhook-timestamp'];
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${message.body}`).digest();
  return (message.headers['webhook-signature'] || '').split(' ').some((signature) => {
    const [version, value] = signature.split(',');
    const given = Buffer.from(value || '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

async function call(method, path, bearer, body) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

test('onboarding in the dashboard: webhooks and many domains at once', { timeout: 15 * 60_000 }, async (t) => {
  const hook = await receiver();
  const account = await call('POST', '/v1/accounts', adminToken, { username });
  const { secret: token } = await call('POST', `/v1/accounts/${account.id}/tokens`, adminToken, { name: 'onboarding' });
  const browser = await launch([], [new URL(api).port]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(STEP_MS);
  await context.addInitScript((secret) => sessionStorage.setItem('portico.token', secret), token);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api });
  const page = await context.newPage();
  const problems = watchProblems(page);
  const step = stepper(t);
  const messages = (type) => hook.received.filter((m) => JSON.parse(m.body).type === type);

  try {
    let signingSecret;
    await step('adds a webhook endpoint; a bad URL is said inline; the secret is shown once', async () => {
      await page.goto(`${api}/#/webhooks`);
      await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
      await page.getByText('No endpoints yet.').waitFor();
      assert.deepEqual(await unlabelledControls(page), []);
      await page.getByLabel('URL').fill('ftp://hooks.example.com/x');
      await page.getByRole('button', { name: 'Add the endpoint' }).click();
      await page.locator('#webhook-url-error').waitFor();
      assert.equal(await page.getByLabel('URL').getAttribute('aria-invalid'), 'true');
      await shot(page, '20-webhook-url-refused');
      await page.getByLabel('URL').fill(hook.url);
      await page.getByLabel('Description (optional)').fill('CRM sync');
      await page.getByRole('button', { name: 'Add the endpoint' }).click();
      await page.getByRole('heading', { name: hook.url, level: 1 }).waitFor();
      signingSecret = await page.locator('#webhook-secret [data-secret]').getAttribute('data-secret');
      assert.match(signingSecret, /^whsec_[A-Za-z0-9+/=]+$/);
      await page.getByRole('button', { name: 'Copy the signing secret' }).click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), signingSecret);
      await page.locator('[data-endpoint-state="enabled"]').waitFor();
      await shot(page, '21-webhook-added');
      // Shown once: the list, and the endpoint's page opened again, never show it.
      await page.getByRole('link', { name: '← Webhooks' }).click();
      await page.locator(`[data-endpoint="${hook.url}"]`).getByText('CRM sync').waitFor();
      await page.getByRole('link', { name: hook.url }).click();
      await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
      assert.equal(await page.locator('#webhook-secret').count(), 0);
      assert.ok(!(await page.content()).includes(signingSecret));
    });

    await step('adds many domains from a CSV file: one result per line, records by DNS zone', async () => {
      await page.getByRole('link', { name: 'Domains', exact: true }).click();
      await page.getByRole('link', { name: 'Add many' }).click();
      await page.getByRole('heading', { name: 'Add many domains' }).waitFor();
      assert.deepEqual(await unlabelledControls(page), []);
      const csv = [
        'hostname,owner',
        `sales.${zoneA},ann`,
        `"help.${zoneA}",bob`,
        `${zoneB},carol`,
        `SALES.${zoneA},dave`,
        'co.uk,eve',
        '',
      ].join('\r\n');
      await page.getByLabel('Or read a CSV or text file').setInputFiles({ name: 'domains.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.locator('#bulk-count').getByText('5 domains to add').waitFor();
      await page.getByRole('button', { name: 'Add these domains' }).click();
      await page.getByRole('heading', { name: 'Results' }).waitFor({ timeout: CONNECT_MS });
      const result = async (line) => page.locator(`tr[data-line="${line}"] [data-result]`).getAttribute('data-result');
      assert.equal(await result(2), 'created');
      assert.equal(await result(3), 'created');
      assert.equal(await result(4), 'created');
      assert.equal(await result(5), 'duplicate');
      assert.equal(await result(6), 'domain_public_suffix');
      await page.locator('tr[data-line="6"]').getByText('public suffix', { exact: false }).waitFor();
      await page.locator('#bulk-results caption').getByText('3 added, 2 not added').waitFor();
      // The root is served at www: its CNAME and the registrar forward.
      await page.locator('tr[data-line="4"]').getByRole('link', { name: `www.${zoneB}` }).waitFor();
      const zoneFile = async (zone) => page.locator(`[data-zone="${zone}"] pre.zone-file`).innerText();
      assert.equal(await zoneFile(zoneA),
        `sales.${zoneA}. 3600 IN CNAME ${platformHost}.\nhelp.${zoneA}. 3600 IN CNAME ${platformHost}.\n`);
      assert.equal(await zoneFile(zoneB), `www.${zoneB}. 3600 IN CNAME ${platformHost}.\n`);
      await page.locator(`[data-zone="${zoneB}"]`).getByText(`https://www.${zoneB}`).waitFor();
      await page.getByRole('button', { name: `Copy the zone-file lines for ${zoneA}` }).click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await zoneFile(zoneA));
      const download = page.getByRole('link', { name: 'Download all records (CSV)' });
      assert.equal(await download.getAttribute('download'), 'dns-records.csv');
      // Saved as a visitor's browser would (the page's policy lets no script read blob: URLs).
      const [saved] = await Promise.all([page.waitForEvent('download'), download.click()]);
      assert.equal(saved.suggestedFilename(), 'dns-records.csv');
      const records = readFileSync(await saved.path(), 'utf8');
      assert.equal(records.split('\n')[0], 'zone,type,host,name,value');
      assert.ok(records.includes(`${zoneB},CNAME,www,www.${zoneB},${platformHost}`), records);
      assert.deepEqual(await unlabelledControls(page), []);
      await shot(page, '22-bulk-results');
    });

    await step('a pasted list: what is already added is said on its line, the rest is added', async () => {
      await page.getByLabel('Domains, one per line').fill(`# from the spreadsheet\nsales.${zoneA}\n\nshop.${zoneA}\n`);
      await page.locator('#bulk-count').getByText('2 domains to add').waitFor();
      await page.getByRole('button', { name: 'Add these domains' }).click();
      await page.locator('#bulk-results caption').getByText('1 added, 1 not added').waitFor({ timeout: CONNECT_MS });
      assert.equal(await page.locator('tr[data-line="2"] [data-result]').getAttribute('data-result'), 'domain_already_added');
      assert.equal(await page.locator('tr[data-line="4"] [data-result]').getAttribute('data-result'), 'created');
      await page.getByRole('link', { name: '← Domains' }).click();
      for (const host of [`sales.${zoneA}`, `help.${zoneA}`, `www.${zoneB}`, `shop.${zoneA}`]) {
        await page.locator(`[data-domain="${host}"] [data-status="processing"]`).waitFor();
      }
    });

    await step('the endpoint hears each domain.added, signed with the secret shown once', async () => {
      await eventually('four domain.added messages', async () => messages('domain.added').length >= 4);
      for (const message of messages('domain.added')) {
        assert.ok(signedWith(signingSecret, message), `signed: ${message.headers['webhook-id']}`);
        assert.equal(JSON.parse(message.body).data.domain.status, 'processing');
      }
      const hosts = messages('domain.added').map((m) => JSON.parse(m.body).data.domain.served_host).sort();
      assert.deepEqual(hosts, [`help.${zoneA}`, `sales.${zoneA}`, `shop.${zoneA}`, `www.${zoneB}`]);
      await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
      await page.getByRole('link', { name: hook.url }).click();
      const delivered = page.locator('[data-type="domain.added"][data-state="delivered"]');
      await eventually('the delivery log to show them delivered', async () => (await delivered.count()) === 4, STEP_MS);
      await delivered.first().locator('table.attempts').getByText('200').waitFor();
      await shot(page, '23-delivery-log');
    });

    await step('"Send again" delivers the same webhook-id once more', async () => {
      const first = page.locator('[data-type="domain.added"]').first();
      const id = await first.getAttribute('data-message');
      await first.getByRole('button', { name: `Send ${id} again` }).click();
      await page.locator('#announce').getByText(`${id} queued again`).waitFor();
      await eventually('the redelivery', async () => hook.received.filter((m) => m.headers['webhook-id'] === id).length === 2, STEP_MS);
      const again = hook.received.filter((m) => m.headers['webhook-id'] === id);
      assert.equal(again[0].body, again[1].body, 'the same message');
      assert.ok(signedWith(signingSecret, again[1]));
    });

    await step('a failing answer shows in the log, and the retry delivers it', async () => {
      hook.answer.status = 503;
      hook.answer.body = 'down for maintenance';
      await call('POST', '/v1/domains', token, { hostname: `late.${zoneA}` });
      const late = page.locator('[data-type="domain.added"]').filter({ hasText: 'down for maintenance' });
      await late.first().waitFor({ timeout: CONNECT_MS });
      await late.first().locator('table.attempts').getByText('503').waitFor();
      await page.locator('[data-endpoint-state="failing"]').waitFor();
      await shot(page, '24-delivery-failing');
      hook.answer.status = 204;
      hook.answer.body = '';
      // The first retry comes seconds later (PORTICO_WEBHOOK_RETRY_SCHEDULE_S).
      await page.locator('[data-endpoint-state="enabled"]').waitFor({ timeout: CONNECT_MS });
      const lateId = await late.first().getAttribute('data-message');
      await page.locator(`[data-message="${lateId}"][data-state="delivered"]`).waitFor();
      assert.equal(hook.received.filter((m) => m.headers['webhook-id'] === lateId).length, 2);
    });

    await step('switched off, rotated, removed', async () => {
      await page.getByRole('button', { name: 'Switch off' }).click();
      await page.locator('[data-endpoint-state="disabled"]').waitFor();
      await page.getByRole('button', { name: 'Switch on' }).click();
      await page.locator('[data-endpoint-state="enabled"]').waitFor();
      await page.getByLabel('The old secret keeps signing for').selectOption({ label: '1 hour' });
      await page.getByRole('button', { name: 'Rotate the secret' }).click();
      await page.getByRole('dialog', { name: 'Rotate the signing secret?' }).getByRole('button', { name: 'Rotate' }).click();
      const rotated = await page.locator('#webhook-secret [data-secret]').getAttribute('data-secret');
      assert.match(rotated, /^whsec_/);
      assert.notEqual(rotated, signingSecret);
      // Both sign during the overlap.
      const before = hook.received.length;
      await call('POST', '/v1/domains', token, { hostname: `rotated.${zoneA}` });
      await eventually('a message after the rotation', async () => hook.received.length > before, STEP_MS);
      const after = hook.received.at(-1);
      assert.ok(signedWith(rotated, after) && signedWith(signingSecret, after));
      await shot(page, '25-secret-rotated');
      await page.getByRole('button', { name: 'Remove the endpoint' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Remove the endpoint' }).click();
      await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
      await page.getByText('No endpoints yet.').waitFor();
    });

    await step('reads well at phone width', async () => {
      await page.setViewportSize({ width: 375, height: 812 });
      await page.goto(`${api}/#/domains/bulk`);
      await page.getByLabel('Domains, one per line').fill(`sales.${zoneA}\nphone.${zoneA}`);
      await page.getByRole('button', { name: 'Add these domains' }).click();
      await page.locator('#bulk-results caption').getByText('1 added, 1 not added').waitFor({ timeout: CONNECT_MS });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px at 375px`);
      await shot(page, '26-bulk-phone');
    });

    assert.deepEqual(problems, [], 'no script errors in the page');
  } catch (err) {
    await shot(page, 'onboarding-failure').catch(() => {});
    throw err;
  } finally {
    await browser.close();
    hook.server.close();
  }
});
