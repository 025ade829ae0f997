// Domains: the list, adding one, and a domain's page (records to create,
// live status, every check, the six addresses, Index/404, removal).

import { get, post, put, del, listAll } from './api.js';
import { loadChecks, classifyDomain, checkExternalUrl } from './checks.js';
import {
  h, fill, refill, rich, uid, announce, statusBadge, stateBadge, copyButton, relativeTime, timeEl, refreshTimes,
  fieldError, confirmDialog, errorBox,
} from './ui.js';

/** How often a screen looks again while a domain is processing. */
const POLL_MS = 2000;
/** …and otherwise (a connected domain can become disconnected). */
const SLOW_POLL_MS = 30000;

const CHECK_NAMES = {
  nameservers: 'Nameservers',
  cname: 'CNAME record',
  propagation: 'Propagation',
  root_forward: 'Root forward',
  caa: 'Certificate authorities (CAA)',
  dnssec: 'DNSSEC',
  dns_provider: 'DNS provider',
  certificate: 'Certificate',
  ownership: 'Ownership',
  current_site: 'What stops working',
  apex_addresses: 'Bare domain records',
};

const WHO = {
  customer_dns: 'You, in your DNS records',
  registrar_forwarding: 'You, in your registrar’s forwarding settings',
  registrar: 'You, at your registrar (the domain’s nameservers)',
  platform: 'Us: nothing for you to do',
};

export const checkName = (name) => CHECK_NAMES[name] || name;

const KIND_LABELS = {
  root: 'Root domain (served at www)',
  subdomain: 'Subdomain',
};

/** Runs `tick` now and then after each delay it returns, until stopped. */
function poller(tick) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    let delay = POLL_MS;
    try {
      delay = await tick();
    } catch (err) {
      console.warn('refresh failed', err);
    }
    if (!stopped) timer = setTimeout(run, delay || POLL_MS);
  };
  run();
  return () => { stopped = true; clearTimeout(timer); };
}

function problemsList(problems) {
  const shown = problems.filter((p) => p.name !== 'dns_provider' || p.state !== 'pass');
  if (!shown.length) return null;
  return h('ul', { class: 'problems' }, shown.map((p) => h('li', {},
    stateBadge(p.state), ' ', h('strong', {}, checkName(p.name)), p.cause ? [': ', rich(p.cause)] : '')));
}

/** What a processing or disconnected domain is waiting for, in a few lines. */
function statusSummary(domain) {
  const v = domain.verification;
  if (domain.status === 'connected') {
    const worth = v ? problemsList(v.problems.filter((p) => p.state === 'warn' || p.state === 'fail')) : null;
    return [
      h('p', { class: 'status-line' }, 'Connected',
        domain.connected_at ? [' ', timeEl(domain.connected_at)] : '', '. Your pages are served at ',
        h('strong', {}, domain.served_host_unicode), '.'),
      worth ? [h('p', { class: 'status-line' }, 'It works; worth a look:'), worth] : null,
    ];
  }
  const parts = [];
  if (!v) {
    parts.push(h('p', { class: 'status-line' }, 'Waiting for the first check (due any moment now).'));
  } else {
    const problems = problemsList(v.problems);
    parts.push(h('p', { class: 'status-line' },
      domain.status === 'disconnected' ? 'Your DNS no longer points at us: put it back soon, or this address stops being served. What is wrong:'
        : v.ready || !problems ? 'Everything is in place; connecting…' : 'Still missing:'));
    parts.push(problems);
    if (v.next_check_at) {
      const due = Date.parse(v.next_check_at) <= Date.now() + 1000;
      parts.push(h('p', { class: 'muted next-check' }, 'Next check ', due ? 'any moment now' : timeEl(v.next_check_at), '.'));
    }
  }
  return parts;
}

// ---------------------------------------------------------------- list

const EVENT_LABELS = {
  domain_added: 'Added',
  domain_connected: 'Connected',
  domain_disconnected: 'Disconnected',
  domain_expired: 'Removed: not connected within 24 hours',
  domain_removed: 'Removed',
  domain_released: 'Removed: another account proved the hostname is theirs',
  certificate_active: 'Certificate active',
  certificate_failed: 'Certificate failed',
  webhook_disabled: 'Webhook endpoint switched off',
};

function activity(events) {
  if (!events.length) return h('p', { class: 'muted' }, 'Nothing yet.');
  return h('ul', { class: 'activity' }, events.map((event) => h('li', { dataset: { event: event.kind } },
    h('span', { class: 'muted' }, timeEl(event.occurred_at)), ' ',
    h('strong', {}, EVENT_LABELS[event.kind] || event.kind), ' · ', rich(event.message))));
}

export async function domainList(main) {
  // Not a live region: it is refilled every few seconds; status changes are announced instead.
  const list = h('ul', { class: 'domains', 'aria-busy': 'true' });
  const recent = h('div', {});
  fill(main,
    h('div', { class: 'title-row' },
      h('h1', {}, 'Custom domains'),
      h('div', { class: 'actions' },
        h('a', { class: 'button secondary', href: '#/domains/bulk' }, 'Add many'),
        h('a', { class: 'button primary', href: '#/domains/new' }, 'Add a domain'))),
    h('p', { class: 'lead' }, 'Serve your pages, checkouts and portals at your own address. Adding one takes five minutes; the check that it works runs on its own, within minutes of your DNS change.'),
    list,
    h('section', { class: 'section', 'aria-labelledby': 'activity-heading' },
      h('h2', { id: 'activity-heading' }, 'Recent activity'), recent));
  const items = new Map();
  return poller(async () => {
    const [{ domains }, { events }] = await Promise.all([listAll('/v1/domains'), get('/v1/events?limit=8')]);
    fill(recent, activity(events));
    // Each domain carries its last check in short (what is still missing, next check).
    const detailed = domains;
    list.removeAttribute('aria-busy');
    if (!detailed.length) {
      fill(list, h('li', { class: 'empty' }, 'No domains yet. ', h('a', { href: '#/domains/new' }, 'Add your first domain'), '.'));
      items.clear();
      return SLOW_POLL_MS;
    }
    if (!items.size) list.replaceChildren();
    const seen = new Set();
    for (const domain of detailed) {
      seen.add(domain.id);
      let item = items.get(domain.id);
      if (!item) {
        const status = h('div', { class: 'domain-status' });
        const badge = h('span', {});
        item = {
          li: h('li', { class: 'domain card', dataset: { domain: domain.served_host } },
            h('div', { class: 'domain-head' },
              h('a', { class: 'domain-name', href: `#/domains/${encodeURIComponent(domain.id)}` }, domain.served_host_unicode),
              badge),
            h('p', { class: 'muted' }, KIND_LABELS[domain.kind]),
            status),
          status, badge, last: null,
        };
        items.set(domain.id, item);
        list.append(item.li);
      }
      if (item.last && item.last !== domain.status) {
        announce(`${domain.served_host_unicode}: ${domain.status}`);
      }
      item.last = domain.status;
      fill(item.badge, statusBadge(domain.status));
      fill(item.status, statusSummary(domain));
    }
    for (const [id, item] of items) {
      if (!seen.has(id)) { item.li.remove(); items.delete(id); }
    }
    return detailed.some((d) => d.status === 'processing') ? POLL_MS : SLOW_POLL_MS;
  });
}

// ---------------------------------------------------------------- add

const PREFILL_KEY = 'portico.add-domain';

export async function addDomain(main, ctx) {
  await loadChecks();
  const input = h('input', {
    id: 'hostname', name: 'hostname', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: 'sales.example.com', 'aria-describedby': 'hostname-help', inputmode: 'url',
  });
  input.value = sessionStorage.getItem(PREFILL_KEY) || '';
  sessionStorage.removeItem(PREFILL_KEY);
  const error = fieldError(input);
  const preview = h('div', { class: 'preview', id: 'hostname-preview', 'aria-live': 'polite' });
  const proofArea = h('div', { id: 'ownership-proof', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Add the domain');
  const platform = ctx.account.platformDomain;

  const update = () => {
    const value = input.value.trim();
    if (!value) { fill(preview); error.show(''); return null; }
    const outcome = classifyDomain(value, platform, ctx.account.username);
    if (!outcome) { fill(preview); return null; } // no wasm: the API checks on submit
    if (!outcome.ok) { fill(preview); error.show(outcome.error.message); return outcome; }
    error.show('');
    const v = outcome.value;
    fill(preview, v.kind === 'root'
      ? [h('p', {}, h('strong', {}, 'Root domain. '), 'Your pages will be at ', h('strong', {}, `https://${v.served_host_unicode}`),
        `; you will create a CNAME for www and forward ${v.root} to it.`)]
      : [h('p', {}, h('strong', {}, 'Subdomain. '), 'Your pages will be at ', h('strong', {}, `https://${v.served_host_unicode}`),
        '; you will create one CNAME record.')]);
    return outcome;
  };
  input.addEventListener('input', update);

  const form = h('form', { class: 'card', novalidate: true },
    h('label', { for: 'hostname' }, 'Domain'),
    input,
    h('p', { class: 'help', id: 'hostname-help' }, 'Type it as visitors will, e.g. ', h('code', {}, 'sales.example.com'), ' or ', h('code', {}, 'example.com'), '. A pasted link works too.'),
    error.el,
    preview,
    proofArea,
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const outcome = update();
    if (!input.value.trim()) { error.show('Type the domain you want to use.'); input.focus(); return; }
    if (outcome && !outcome.ok) { input.focus(); return; }
    submit.disabled = true;
    try {
      const domain = await post('/v1/domains', { hostname: input.value.trim() });
      announce(`${domain.served_host_unicode} added`);
      location.hash = `#/domains/${encodeURIComponent(domain.id)}`;
      fill(proofArea);
    } catch (err) {
      if (err.code === 'hostname_taken' && err.proof) {
        error.show('Another account on this platform has this domain.');
        fill(proofArea, proofCard(err.proof, 'If the domain is yours, prove it: create this TXT record at your DNS provider, then add the domain again. The other account is told the domain was released, never by whom. (A CNAME pointing at your account proves it too.)'));
      } else {
        error.show(err.message);
        fill(proofArea);
      }
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/domains' }, '← Domains')),
    h('h1', {}, 'Add a domain'),
    h('div', { class: 'choices' },
      h('div', { class: 'choice card' },
        h('h2', {}, 'A subdomain'),
        h('p', {}, 'Such as ', h('code', {}, 'sales.example.com'), ': your pages live at that address, beside whatever site ', h('code', {}, 'example.com'), ' already has, with one CNAME record.')),
      h('div', { class: 'choice card' },
        h('h2', {}, 'Your root domain'),
        h('p', {}, 'Such as ', h('code', {}, 'example.com'), ': your pages are served at ', h('code', {}, 'www.example.com'), ' (a CNAME for www), and your registrar forwards ', h('code', {}, 'example.com'), ' there.'))),
    form,
    h('div', { class: 'notice' },
      h('p', {}, h('strong', {}, 'Before you start: '), 'whatever this address serves today (another site or app) stops being reachable there once it is connected here. You can remove it here at any time. If it is not connected within 24 hours, it is removed and you can add it again.')));
  if (input.value) update();
}

// ---------------------------------------------------------------- detail

function recordsTable(domain) {
  const caption = domain.dns_records.length > 1 ? 'The records to create at your DNS provider' : 'The record to create at your DNS provider';
  const rows = domain.dns_records.map((record) => h('tr', { dataset: { record: record.host } },
    h('td', { 'data-label': 'Type' }, h('code', {}, record.type)),
    h('td', { 'data-label': 'Host / Name' }, h('code', { class: 'value' }, record.host), ' ', copyButton(record.host, `${record.type} host ${record.host}`)),
    h('td', { 'data-label': 'Points to / Value' }, h('code', { class: 'value', dataset: { recordValue: record.value } }, record.value), ' ', copyButton(record.value, `${record.type} value ${record.value}`)),
    h('td', { 'data-label': 'TTL' }, 'Automatic (or 1 hour)')));
  return h('table', { class: 'records' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Host / Name'), h('th', { scope: 'col' }, 'Points to / Value'), h('th', { scope: 'col' }, 'TTL'))),
    h('tbody', {}, rows));
}

/** The TXT records the certificate provider asks for (a TXT-proven move), if any. */
function certificateRecords(report) {
  const records = (report && report.certificate_records) || [];
  if (!records.length) return null;
  return h('div', { class: 'card', id: 'certificate-records' },
    h('h3', {}, 'Records for the certificate'),
    h('p', {}, 'Create these TXT records and the certificate is issued while your site still runs where it is. Move the CNAME once the certificate check passes: visitors never see a certificate error.'),
    h('table', { class: 'records' },
      h('caption', {}, 'TXT records to create'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'For'))),
      h('tbody', {}, records.map((record) => h('tr', {},
        h('td', { 'data-label': 'Name' }, h('code', { class: 'value' }, record.name), ' ', copyButton(record.name, `TXT name ${record.name}`)),
        h('td', { 'data-label': 'Value' }, h('code', { class: 'value' }, record.value), ' ', copyButton(record.value, `TXT value ${record.value}`)),
        h('td', { 'data-label': 'For' }, record.purpose === 'ownership' ? 'the hostname' : 'the certificate'))))));
}

/** The TXT record that proves a hostname is the customer's, and what was last found there. */
export function proofCard(proof, intro) {
  const check = proof.check;
  return h('div', { class: 'card proof', dataset: { proof: proof.name } },
    h('h3', {}, 'Prove the domain is yours'),
    h('p', {}, intro),
    h('table', { class: 'records' },
      h('caption', {}, 'The TXT record to create'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Host / Name'), h('th', { scope: 'col' }, 'Value'))),
      h('tbody', {}, h('tr', {},
        h('td', { 'data-label': 'Type' }, h('code', {}, proof.type)),
        h('td', { 'data-label': 'Host / Name' }, h('code', { class: 'value' }, proof.host), ' ', copyButton(proof.host, `TXT host ${proof.host}`)),
        h('td', { 'data-label': 'Value' }, h('code', { class: 'value', dataset: { proofValue: proof.value } }, proof.value), ' ', copyButton(proof.value, `TXT value ${proof.value}`))))),
    check && check.state !== 'pass'
      ? h('p', { class: 'help', dataset: { proofState: check.state } }, h('strong', {}, 'Last look: '), ...rich(check.found),
        check.state === 'fail' && check.fix ? [' ', ...rich(check.fix)] : null)
      : null);
}

function forwardCard(forward, root) {
  return h('div', { class: 'card' },
    h('h3', {}, `Forward ${root} to www`),
    h('p', {}, 'In your registrar’s “Forwarding” or “Redirect” settings, so that visitors who type ', h('code', {}, root), ' arrive at your pages:'),
    h('dl', { class: 'pairs' },
      h('dt', {}, 'Forward'), h('dd', {}, h('code', {}, forward.from), ' (leave the subdomain/host blank)'),
      h('dt', {}, 'To'), h('dd', {}, h('code', {}, forward.to), ' ', copyButton(forward.to, `forward target ${forward.to}`), ' — with https:// and www'),
      h('dt', {}, 'Type'), h('dd', {}, `Permanent (${forward.status})`),
      h('dt', {}, 'Forward path'), h('dd', {}, forward.forward_path ? 'On' : 'Off'),
      h('dt', {}, 'Redirect www'), h('dd', {}, forward.redirect_www ? 'On' : 'Off: “do not redirect www” (redirecting www too would loop forever)')));
}

/** A root's bare domain: forwarded by the registrar, or pointed at the
 * platform's addresses (the platform answers it itself, https:// too), and
 * which name serves the pages. Offered where the platform has addresses. */
function apexCard(domain, path) {
  const apex = domain.apex;
  if (!apex || !apex.addresses_offered) return null;
  const root = domain.root;
  const radio = (name, value, checked, label) => {
    const id = uid(`apex-${name}-${value}`);
    return h('div', { class: 'radio' },
      h('input', { type: 'radio', name, value, id, checked }),
      h('label', { for: id }, label));
  };
  const error = h('p', { class: 'field-error', role: 'alert', id: 'apex-error' });
  const records = h('table', { class: 'records', id: 'apex-records' },
    h('caption', {}, `The records to create at ${root} (host @)`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Host / Name'), h('th', { scope: 'col' }, 'Points to / Value'))),
    h('tbody', {}, apex.address_records.map((record) => h('tr', { dataset: { apexRecord: record.value } },
      h('td', { 'data-label': 'Type' }, h('code', {}, record.type)),
      h('td', { 'data-label': 'Host / Name' }, h('code', { class: 'value' }, record.host)),
      h('td', { 'data-label': 'Points to / Value' }, h('code', { class: 'value' }, record.value), ' ', copyButton(record.value, `${record.type} value ${record.value}`))))));
  const form = h('form', { class: 'card', id: 'apex-choice' },
    h('h3', {}, `The bare ${root}`),
    h('fieldset', {},
      h('legend', {}, `How visitors who type ${root} reach your pages`),
      radio('setup', 'forward', apex.setup === 'forward', [`Your registrar forwards it to https://www.${root} `, h('span', { class: 'muted' }, '(usually plain HTTP only: https://', root, ' does not work)')]),
      radio('setup', 'addresses', apex.setup === 'addresses', [`${root} points at our addresses `, h('span', { class: 'muted' }, '(A/AAAA records below: every address works, https:// too; the way for GoDaddy)')])),
    h('fieldset', {},
      h('legend', {}, 'Main address'),
      radio('main_address', 'www', apex.main_address === 'www', [h('code', {}, `www.${root}`), ` (${root} redirects to it)`]),
      radio('main_address', 'apex', apex.main_address === 'apex', [h('code', {}, root), ` (www.${root} redirects to it; needs our addresses)`])),
    records,
    h('p', { class: 'help' }, 'Delete any other A or AAAA record of @, and any forwarding of ', h('code', {}, root),
      '. Does your provider offer ALIAS, ANAME or CNAME flattening at the apex? Pointing @ at ', h('code', {}, apex.flattening_target), ' works too.'),
    error,
    h('button', { type: 'submit', class: 'secondary', id: 'apex-save' }, 'Save'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    error.textContent = '';
    try {
      await put(`${path}/apex`, { setup: data.get('setup'), main_address: data.get('main_address') });
      announce(`The bare ${root} is set up`);
      // The records, the forward and the checks follow the choice: draw the page again.
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) {
      error.textContent = err.message;
    }
  });
  return form;
}

function providerBox(domain, report, ctx) {
  const check = report && report.checks.find((c) => c.name === 'dns_provider');
  if (!report || !report.provider || !check) {
    return h('p', { class: 'muted' }, 'Once the first check finds your DNS provider, its own steps appear here.');
  }
  const name = report.provider.name;
  const parts = [h('p', {}, name === 'unknown'
    ? 'Your DNS provider was not recognised: create the record wherever your domain’s DNS is managed (often where you bought it).'
    : ['Your DNS is at ', h('strong', { dataset: { provider: name } }, name), ' (', report.provider.nameservers.join(', '), ').'])];
  const steps = [];
  if (report.provider.cname_steps) steps.push(h('li', {}, h('strong', {}, 'The CNAME record. '), rich(report.provider.cname_steps)));
  if (domain.kind === 'root' && report.provider.forward_steps) {
    steps.push(h('li', {}, h('strong', {}, `Forwarding ${domain.root}. `), rich(report.provider.forward_steps.replaceAll('<your domain>', domain.root))));
  }
  if (steps.length) parts.push(h('ol', { class: 'steps', dataset: { providerSteps: name } }, steps));
  if (check.state !== 'pass') {
    parts.push(h('div', { class: 'notice notice-warn' },
      check.cause ? h('p', {}, h('strong', {}, 'Heads up: '), rich(check.cause), '.') : null,
      check.fix ? h('p', {}, rich(check.fix)) : null,
      domain.kind === 'root' && domain.apex && domain.apex.addresses_offered && domain.apex.setup === 'forward'
        ? h('button', {
          type: 'button', class: 'primary', id: 'use-apex-addresses',
          onclick: async () => {
            await put(`/v1/domains/${encodeURIComponent(domain.id)}/apex`, { setup: 'addresses', main_address: 'www' });
            announce(`${domain.root} now points at our addresses: create its records`);
            window.dispatchEvent(new HashChangeEvent('hashchange'));
          },
        }, `Point ${domain.root} at our addresses instead`)
        : null,
      ' ',
      domain.kind === 'root'
        ? h('button', {
          type: 'button', class: 'secondary',
          onclick: () => { sessionStorage.setItem(PREFILL_KEY, `pages.${domain.root}`); location.hash = '#/domains/new'; },
        }, `Add pages.${domain.root} instead`)
        : null));
  }
  return parts;
}

/** `bücher.example (in DNS: xn--bcher-kva.example)`, or the one form when they agree (reports stored before the Unicode form read it as empty). */
function hostBothForms(report) {
  const unicode = report.served_host_unicode || report.served_host;
  return unicode === report.served_host ? unicode : `${unicode} (in DNS: ${report.served_host})`;
}

/** The report as plain text, for a support request: everything support would ask screenshots for. */
function reportText(domain, report) {
  const lines = [
    `${hostBothForms(report)} (${report.kind}), status ${domain.status}, checked ${report.checked_at}`,
    `CNAME must point at: ${report.expected_target || domain.dns_records[0].value}`,
  ];
  if (report.provider) lines.push(`DNS provider: ${report.provider.name} (${report.provider.nameservers.join(', ')})`);
  for (const check of report.checks) {
    lines.push(`[${check.state.toUpperCase()}] ${check.name}: ${check.found}`);
    if (check.cause) lines.push(`    cause: ${check.cause}`);
    if (check.fix) lines.push(`    fix: ${check.fix}`);
  }
  for (const form of report.addresses || []) lines.push(`${form.works === 'yes' ? 'works' : form.works === 'soon' ? 'soon' : 'won’t work'}: ${form.url} (${form.why})`);
  return lines.join('\n');
}

function checksList(report, domain) {
  if (!report) return h('p', { class: 'muted' }, 'The first check runs seconds after adding; its results appear here.');
  return [
    h('p', { class: 'muted' }, 'Checked ', timeEl(report.checked_at), '. Asking for help? Send this report instead of screenshots: ',
      copyButton(reportText(domain, report), 'the report for support')),
    h('ul', { class: 'checks' }, report.checks.map((check) => h('li', { class: `check check-${check.state}`, dataset: { check: check.name, state: check.state } },
      h('div', { class: 'check-head' }, stateBadge(check.state), ' ', h('strong', {}, checkName(check.name))),
      h('p', {}, rich(check.found)),
      check.cause ? h('p', {}, h('span', { class: 'label' }, 'Cause: '), rich(check.cause)) : null,
      check.fix ? h('p', {}, h('span', { class: 'label' }, 'Fix: '), rich(check.fix)) : null,
      check.who ? h('p', { class: 'muted' }, h('span', { class: 'label' }, 'Who acts: '), WHO[check.who] || check.who) : null))),
  ];
}

function addressesTable(report) {
  if (!report || !report.addresses || !report.addresses.length) return null;
  const label = { yes: 'Works', no: 'Won’t work', soon: 'Soon' };
  return h('table', { class: 'addresses' },
    h('caption', {}, 'The six ways visitors type your address'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Address'), h('th', { scope: 'col' }, 'Works?'), h('th', { scope: 'col' }, 'Why'))),
    h('tbody', {}, report.addresses.map((form) => h('tr', { dataset: { works: form.works } },
      h('th', { scope: 'row', 'data-label': 'Address' }, h('code', {}, form.url)),
      h('td', { 'data-label': 'Works?' }, h('span', { class: `works works-${form.works}` }, label[form.works] || form.works)),
      h('td', { 'data-label': 'Why' }, form.why)))));
}

function targetFieldset(key, legend, help, current, pages, checkUrl) {
  const name = `${key}-type`;
  const radio = (value, text) => {
    const id = uid(`${key}-${value}`);
    return h('div', { class: 'radio' },
      h('input', { type: 'radio', id, name, value, checked: current.type === value }),
      h('label', { for: id }, text));
  };
  const pageSelect = h('select', { id: `${key}-page`, name: `${key}-page`, 'aria-label': `${legend}: page` },
    pages.length ? pages.map((p) => h('option', { value: p.id, selected: current.page_id === p.id }, p.title))
      : h('option', { value: '' }, 'No pages yet'));
  const urlInput = h('input', {
    id: `${key}-url`, name: `${key}-url`, type: 'url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'https://www.example.org/', 'aria-label': `${legend}: address of the other site`,
  });
  urlInput.value = current.type === 'url' ? current.url : '';
  const urlError = fieldError(urlInput);
  const fieldset = h('fieldset', { class: 'target', dataset: { target: key } },
    h('legend', {}, legend),
    h('p', { class: 'help' }, help),
    radio('default', key === 'index' ? 'The platform’s “Nothing here yet” page' : 'The platform’s “Page not found” page'),
    radio('page', 'One of my pages'),
    h('div', { class: 'sub' }, pageSelect),
    radio('url', 'Another site (visitors are redirected)'),
    h('div', { class: 'sub' }, urlInput, urlError.el));
  const sync = () => {
    const type = fieldset.querySelector(`input[name="${name}"]:checked`).value;
    pageSelect.disabled = type !== 'page';
    urlInput.disabled = type !== 'url';
  };
  fieldset.addEventListener('change', sync);
  sync();
  urlInput.addEventListener('input', () => {
    const value = urlInput.value.trim();
    const outcome = value ? checkUrl(value) : null;
    urlError.show(outcome && !outcome.ok ? outcome.error.message : '');
  });
  return {
    fieldset,
    urlError,
    urlInput,
    value() {
      const type = fieldset.querySelector(`input[name="${name}"]:checked`).value;
      if (type === 'page') return pageSelect.value ? { type, page_id: pageSelect.value } : null;
      if (type === 'url') return { type, url: urlInput.value.trim() };
      return { type };
    },
  };
}

function settingsForm(domain, pages, ctx) {
  return targetSettingsForm({
    settings: domain.settings,
    pages,
    host: domain.served_host_unicode,
    // The same-domain rule, checked in the browser with shared's rules.
    checkUrl: (url) => checkExternalUrl(url, domain.hostname, ctx.account.platformDomain),
    save: async (body) => {
      const saved = await put(`/v1/domains/${encodeURIComponent(domain.id)}/settings`, body);
      domain.settings = saved;
      return domain.status === 'connected' ? 'Saved: visitors see the change within seconds.' : 'Saved: used as soon as the domain is connected.';
    },
  });
}

/**
 * The Index and 404 form of a host: a domain's, or the platform address's.
 * `checkUrl(url)` checks an external URL in the browser (null: the server
 * checks); `save(body)` stores it and answers the line to show.
 */
export function targetSettingsForm({ settings, pages, host, checkUrl, save: store }) {
  const index = targetFieldset('index', 'Index page', `What ${host}/ shows.`, settings.index, pages, checkUrl);
  const notFound = targetFieldset('not_found', '404 page', 'What an address without a page shows (with status 404).', settings.not_found, pages, checkUrl);
  const result = h('p', { class: 'form-result', role: 'status' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save Index and 404');
  const form = h('form', { class: 'settings', novalidate: true },
    pages.length ? null : h('p', { class: 'help' }, 'To show one of your pages here, first ', h('a', { href: '#/pages' }, 'create a page'), '.'),
    h('div', { class: 'targets' }, index.fieldset, notFound.fieldset),
    h('p', { class: 'help' }, 'A link to this same domain is refused: it would loop forever.'),
    save, result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.textContent = '';
    const body = { index: index.value(), not_found: notFound.value() };
    for (const [field, target] of [[index, body.index], [notFound, body.not_found]]) {
      if (!target) { result.textContent = 'Choose a page, or create one first.'; return; }
      if (target.type === 'url') {
        if (!target.url) { field.urlError.show('Type the address of the other site.'); field.urlInput.focus(); return; }
        const outcome = checkUrl(target.url);
        if (outcome && !outcome.ok) { field.urlError.show(outcome.error.message); field.urlInput.focus(); return; }
      }
    }
    save.disabled = true;
    try {
      result.textContent = await store(body);
    } catch (err) {
      const field = err.field === 'index.url' ? index : err.field === 'not_found.url' ? notFound : null;
      if (field) { field.urlError.show(err.message); field.urlInput.focus(); } else { result.textContent = err.message; }
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

/** Domain Connect: asks once per visit whether the customer's DNS provider
 * can set the records up itself; if so, a "Connect automatically" link to
 * its consent page (it sends the customer back here); if not, why, beside
 * the manual records below. */
function connectBox(domain) {
  const box = h('div', { class: 'connect-box', id: 'domain-connect' },
    h('p', { class: 'muted' }, 'Looking for a one-click setup at your DNS provider…'));
  if (domain.status !== 'processing') return null;
  post(`/v1/domains/${encodeURIComponent(domain.id)}/domain-connect`).then((offer) => {
    if (offer.offered) {
      refill(box,
        h('p', {}, `${offer.provider_name} can create these records for you: you confirm there, then come back here.`),
        h('p', {}, h('a', { class: 'button primary', id: 'connect-automatically', href: offer.apply_url }, 'Connect automatically')),
        h('p', { class: 'help' }, 'Or create the records below yourself.'));
    } else {
      refill(box, h('p', { class: 'muted', id: 'domain-connect-reason' }, offer.reason ? offer.reason.message : 'Create the records below at your DNS provider.'));
    }
  }).catch((err) => {
    refill(box, h('p', { class: 'muted', id: 'domain-connect-reason' }, `One-click setup is not available right now (${err.message}): create the records below.`));
  });
  return box;
}

function section(id, title, ...children) {
  const headingId = uid(id);
  return h('section', { class: 'section', 'aria-labelledby': headingId, id },
    h('h2', { id: headingId }, title), ...children);
}

export async function domainDetail(main, ctx, id) {
  await loadChecks();
  const path = `/v1/domains/${encodeURIComponent(id)}`;
  const [domain, diagnostics, { pages }] = await Promise.all([get(path), get(`${path}/diagnostics`), listAll('/v1/pages')]);
  let report = diagnostics.report;

  const badge = h('span', { id: 'status-badge' }, statusBadge(domain.status));
  // Refilled on every poll (the times move), so not a live region: changes of status are announced.
  const statusBox = h('div', { class: 'status-box', id: 'status' });
  const providerArea = h('div', {});
  const checksArea = h('div', {});
  const addressesArea = h('div', {});
  const checkNow = h('button', { type: 'button', class: 'secondary', id: 'check-now' }, 'Check now');
  const checkResult = h('span', { class: 'muted', role: 'status', id: 'check-result' });
  const connectArea = connectBox(domain);

  let renderedReport = null;
  const render = () => {
    fill(badge, statusBadge(domain.status));
    const lines = [statusSummary(domain)];
    if (domain.status === 'processing') {
      lines.push(h('p', { class: 'muted' }, 'Added ', timeEl(domain.added_at), '. Not connected by ', timeEl(domain.connect_deadline, false),
        ' (', relativeTime(domain.connect_deadline), ') → it is removed, and you can add it again.'));
    }
    fill(statusBox, lines);
    if (connectArea) connectArea.hidden = domain.status !== 'processing';
    // Rebuilt only after a new check: a button in them keeps the keyboard's focus between polls.
    const reportKey = `${domain.status} ${report ? report.checked_at : ''}`;
    if (reportKey !== renderedReport) {
      renderedReport = reportKey;
      refill(providerArea, providerBox(domain, report, ctx));
      refill(checksArea, certificateRecords(report), checksList(report, domain));
      refill(addressesArea, addressesTable(report) || h('p', { class: 'muted' }, 'Once checked, this says which of http://, https://, with and without www will work.'));
    }
    refreshTimes(main);
  };

  const refresh = async () => {
    let fresh;
    let diag;
    try {
      [fresh, diag] = await Promise.all([get(path), get(`${path}/diagnostics`)]);
    } catch (err) {
      if (err.status !== 404) throw err;
      // Removed meanwhile (in another tab, or reverted after 24 hours): the list says why.
      announce(`${domain.served_host_unicode} is no longer one of your domains`);
      location.hash = '#/domains';
      return SLOW_POLL_MS;
    }
    const missing = (d) => (d.verification ? d.verification.problems.filter((p) => p.state !== 'pass').map((p) => checkName(p.name)).join(', ') : null);
    if (fresh.status !== domain.status) {
      announce(`${fresh.served_host_unicode} is now ${fresh.status}`);
    } else if (fresh.status === 'processing' && missing(fresh) !== null && missing(fresh) !== missing(domain)) {
      announce(missing(fresh) ? `Still missing: ${missing(fresh)}` : 'Everything is in place; connecting');
    }
    Object.assign(domain, fresh);
    report = diag.report;
    render();
    return domain.status === 'processing' ? POLL_MS : SLOW_POLL_MS;
  };

  checkNow.addEventListener('click', async () => {
    checkNow.disabled = true;
    checkResult.textContent = 'Checking…';
    try {
      const diag = await post(`${path}/verify`);
      if (diag.status === null) { location.hash = '#/domains'; return; }
      report = diag.report;
      await refresh();
      checkResult.textContent = domain.status === 'connected' ? 'Connected.' : 'Checked just now.';
    } catch (err) {
      checkResult.textContent = err.code === 'verification_in_progress' ? 'A check is running right now; its results appear in a moment.' : err.message;
    } finally {
      checkNow.disabled = false;
    }
  });

  const remove = h('button', { type: 'button', class: 'danger', id: 'remove' }, `Remove ${domain.served_host_unicode}`);
  remove.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Remove ${domain.served_host_unicode}?`,
      body: `Visitors stop reaching your pages at ${domain.served_host_unicode} within seconds, and its page links are removed. Your pages themselves stay. You can add the domain again later.`,
      confirm: 'Remove the domain',
    });
    if (!ok) { remove.focus(); return; }
    try {
      await del(path);
      announce(`${domain.served_host_unicode} removed`);
      location.hash = '#/domains';
    } catch (err) {
      remove.after(errorBox(err.message));
    }
  });

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/domains' }, '← Domains')),
    h('div', { class: 'title-row' }, h('h1', {}, domain.served_host_unicode), badge),
    h('p', { class: 'muted' }, KIND_LABELS[domain.kind], domain.kind === 'root' ? ` · added as ${domain.hostname}` : '',
      domain.main_host && domain.main_host !== domain.served_host ? ` · pages served at ${domain.main_host}, www redirects there` : ''),
    statusBox,
    h('div', { class: 'actions' }, checkNow, checkResult),
    section('setup', 'DNS records',
      connectArea,
      recordsTable(domain),
      h('p', { class: 'help' }, 'If your provider wants the full name, use ', h('code', {}, domain.dns_records[0].name),
        '. If it adds your domain itself and shows ', h('code', {}, `${domain.dns_records[0].name}.${domain.root}`), ', type just ', h('code', {}, domain.dns_records[0].host),
        '. An existing CNAME, A or AAAA record with this name must be deleted first.'),
      domain.root_forward ? forwardCard(domain.root_forward, domain.root) : null,
      apexCard(domain, path),
      domain.ownership_proof && domain.status === 'processing'
        ? h('details', { class: 'proof-details' },
          h('summary', {}, 'Moving a site that is live elsewhere? Prove ownership first'),
          proofCard(domain.ownership_proof, 'With this TXT record, the platform knows the domain is yours before the CNAME changes, so nothing that needs proof waits for the switch. You can delete it once the domain is connected.'))
        : null,
      h('h3', {}, 'Your DNS provider'),
      providerArea),
    section('checks', 'Checks', checksArea),
    domain.kind === 'root' ? section('addresses', 'Addresses', addressesArea) : null,
    section('settings', 'Index and 404', settingsForm(domain, pages, ctx)),
    section('remove-section', 'Remove', h('p', {}, 'Stop serving your pages at this address.'), remove));
  render();
  return poller(refresh);
}
