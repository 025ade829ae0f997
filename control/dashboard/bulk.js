// Adding many domains at once: a pasted list or a CSV file, one result per
// line, and the records to create grouped by DNS zone (as a zone-file
// snippet and CSV) for whoever administers each zone.

import { post } from './api.js';
import { h, fill, announce, copyButton, fieldError, errorBox } from './ui.js';
import { proofCard } from './domains.js';

/** What POST /v1/domains/batch takes at most. */
export const MAX_BATCH = 1000;

const RESULT_LABELS = {
  created: 'Added',
  domain_already_added: 'Already added',
  hostname_taken: 'Another account has it',
  duplicate: 'Twice in this list',
};

/**
 * The hostnames in a pasted list or a CSV file: one per line, the first
 * column of a CSV (quotes removed), blank lines, `#` comments and a header
 * row (`hostname`, `domain`…) skipped. Each keeps its line number.
 */
export function parseList(text) {
  const entries = [];
  const lines = String(text).replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((line, i) => {
    let first = line.trim();
    if (!first || first.startsWith('#')) return;
    if (first.startsWith('"')) {
      const end = first.indexOf('"', 1);
      first = end > 0 ? first.slice(1, end) : first.slice(1);
    } else {
      first = first.split(/[,;\t]/)[0];
    }
    first = first.trim();
    if (!first) return;
    if (!entries.length && /^(host ?name|domain( name)?|name|url)s?$/i.test(first)) return;
    entries.push({ line: i + 1, hostname: first });
  });
  return entries;
}

function resultBadge(item) {
  const ok = item.result === 'created';
  const known = item.result === 'domain_already_added' || item.result === 'duplicate';
  return h('span', { class: `state state-${ok ? 'pass' : known ? 'pending' : 'fail'}`, dataset: { result: item.result } },
    RESULT_LABELS[item.result] || 'Not added');
}

function resultsTable(entries, result) {
  const rows = result.items.map((item, i) => h('tr', { dataset: { line: entries[i].line, hostname: item.hostname } },
    h('td', { 'data-label': 'Line' }, String(entries[i].line)),
    h('td', { 'data-label': 'Domain' }, item.domain
      ? h('a', { href: `#/domains/${encodeURIComponent(item.domain.id)}` }, item.domain.served_host_unicode)
      : h('code', {}, item.hostname)),
    h('td', { 'data-label': 'Result' }, resultBadge(item),
      item.message ? h('p', { class: 'help' }, item.message) : null,
      item.proof ? h('details', {}, h('summary', {}, 'Prove it is yours'),
        proofCard(item.proof, 'Create this TXT record at the domain’s DNS provider, then add the domain again.')) : null)));
  return h('table', { class: 'records bulk-results' },
    h('caption', {}, `${result.created} added, ${result.failed} not added`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col' }, 'Domain'), h('th', { scope: 'col' }, 'Result'))),
    h('tbody', {}, rows));
}

/** A link that saves `text` as a file (a blob: URL, nothing leaves the browser). */
function downloadLink(text, filename, label) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  return h('a', { class: 'button secondary', href: url, download: filename }, label);
}

function zoneCard(zone) {
  return h('div', { class: 'card zone', dataset: { zone: zone.zone } },
    h('h3', {}, zone.zone),
    h('table', { class: 'records' },
      h('caption', {}, `Records to create in ${zone.zone}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Host / Name'), h('th', { scope: 'col' }, 'Points to / Value'))),
      h('tbody', {}, zone.records.map((record) => h('tr', {},
        h('td', { 'data-label': 'Type' }, h('code', {}, record.type)),
        h('td', { 'data-label': 'Host / Name' }, h('code', { class: 'value' }, record.host)),
        h('td', { 'data-label': 'Points to / Value' }, h('code', { class: 'value' }, record.value)))))),
    zone.root_forwards.length
      ? h('p', { class: 'help' }, 'At the registrar, forward ',
        zone.root_forwards.map((f, i) => [i ? ', ' : '', h('code', {}, f.from), ' → ', h('code', {}, f.to)]),
        ' (permanent, 301, path kept).')
      : null,
    h('p', { class: 'help' }, 'As zone-file lines (BIND format), for a DNS administrator or an import:'),
    h('pre', { class: 'zone-file' }, h('code', {}, zone.zone_file)),
    copyButton(zone.zone_file, `the zone-file lines for ${zone.zone}`));
}

function recordsSection(result) {
  if (!result.zones.length) return null;
  return h('section', { class: 'section', id: 'bulk-records', 'aria-labelledby': 'bulk-records-heading' },
    h('h2', { id: 'bulk-records-heading' }, 'Records to create, by DNS zone'),
    h('p', {}, 'Send each zone’s records to whoever manages its DNS. Each domain is checked on its own once its record exists; the checks of a large list are spread over a few minutes.'),
    h('div', { class: 'actions' },
      downloadLink(result.records_csv, 'dns-records.csv', 'Download all records (CSV)'),
      copyButton(result.records_csv, 'all records as CSV')),
    result.zones.map(zoneCard));
}

export async function bulkAdd(main) {
  const list = h('textarea', {
    id: 'bulk-list', name: 'hostnames', rows: 10, spellcheck: 'false', autocomplete: 'off',
    placeholder: 'sales.example.com\nexample.org\nshop.example.net', 'aria-describedby': 'bulk-help',
  });
  const file = h('input', { id: 'bulk-file', name: 'file', type: 'file', accept: '.csv,.txt,text/csv,text/plain' });
  const listError = fieldError(list);
  const count = h('p', { class: 'muted', id: 'bulk-count', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Add these domains');
  const results = h('div', { id: 'bulk-results' });

  const entries = () => parseList(list.value);
  const recount = () => {
    const n = entries().length;
    count.textContent = n ? `${n} domain${n === 1 ? '' : 's'} to add${n > MAX_BATCH ? ` (at most ${MAX_BATCH} at once)` : ''}` : '';
  };
  list.addEventListener('input', () => { listError.show(''); recount(); });
  file.addEventListener('change', async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    list.value = await chosen.text();
    listError.show('');
    recount();
    announce(`${chosen.name} read: ${entries().length} domains`);
  });

  const form = h('form', { class: 'card', novalidate: true },
    h('label', { for: 'bulk-list' }, 'Domains, one per line'),
    list,
    h('p', { class: 'help', id: 'bulk-help' }, `Up to ${MAX_BATCH}. A CSV works too: the first column is read, a header row is skipped.`),
    listError.el,
    h('label', { for: 'bulk-file' }, 'Or read a CSV or text file'),
    file,
    count,
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fill(results);
    const typed = entries();
    if (!typed.length) { listError.show('Paste at least one domain, one per line.'); list.focus(); return; }
    if (typed.length > MAX_BATCH) { listError.show(`That is ${typed.length} domains: add at most ${MAX_BATCH} at once.`); list.focus(); return; }
    submit.disabled = true;
    submit.textContent = `Adding ${typed.length}…`;
    try {
      const result = await post('/v1/domains/batch', { hostnames: typed.map((e) => e.hostname) });
      fill(results,
        h('h2', { id: 'bulk-results-heading', tabindex: '-1' }, 'Results'),
        resultsTable(typed, result),
        recordsSection(result));
      announce(`${result.created} added, ${result.failed} not added`);
      results.querySelector('h2').focus();
    } catch (err) {
      fill(results, errorBox(err.message));
    } finally {
      submit.disabled = false;
      submit.textContent = 'Add these domains';
    }
  });

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/domains' }, '← Domains')),
    h('h1', {}, 'Add many domains'),
    h('p', { class: 'lead' }, 'Each line is added as if typed on its own: one that cannot be added is said on its line, and the others are added anyway.'),
    form,
    results);
}
