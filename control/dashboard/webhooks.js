// Webhooks: the account's endpoints (adding one shows its signing secret
// once), and an endpoint's page: what it receives, switching it on and off,
// rotating the secret, its delivery log with a redeliver button, removal.

import { get, post, api, del } from './api.js';
import {
  h, fill, refill, announce, copyButton, fieldError, confirmDialog, errorBox, timeEl, uid,
} from './ui.js';

/** Every event type, as the API names it, with what it means. */
export const EVENT_TYPES = [
  ['domain.added', 'A domain was added'],
  ['domain.connected', 'A domain is connected and serving'],
  ['domain.disconnected', 'A domain’s DNS stopped pointing here'],
  ['domain.expired', 'A domain was removed: not connected within 24 hours'],
  ['domain.removed', 'A domain was removed'],
  ['domain.released', 'A domain was released: another account proved it is theirs'],
  ['certificate.active', 'A domain’s certificate is active'],
  ['certificate.failed', 'A domain’s certificate could not be issued'],
  ['webhook.disabled', 'An endpoint was switched off after failing for days'],
];

/** How long the previous secret keeps signing after a rotation. */
const OVERLAPS = [[86400, '24 hours'], [3600, '1 hour'], [604800, '7 days'], [0, 'None: stop it now']];

/** The endpoint just added and its secret, for its page to show once. */
let justCreated = null;

const MESSAGE_STATES = { pending: ['pending', 'Pending'], delivered: ['pass', 'Delivered'], failed: ['fail', 'Failed'] };

function enabledBadge(endpoint) {
  if (endpoint.enabled) {
    return endpoint.failing_since
      ? h('span', { class: 'state state-warn', dataset: { endpointState: 'failing' } }, 'Failing')
      : h('span', { class: 'state state-pass', dataset: { endpointState: 'enabled' } }, 'On');
  }
  return h('span', { class: 'state state-fail', dataset: { endpointState: 'disabled' } }, 'Off');
}

/** Checkboxes for the event filter: all ticked means "every type" (also those added later). */
function eventTypesFieldset(current) {
  const boxes = EVENT_TYPES.map(([type, text]) => {
    const id = uid('event-type');
    const box = h('input', { type: 'checkbox', id, name: 'event_types', value: type, checked: !current || current.includes(type) });
    return { box, el: h('div', { class: 'radio' }, box, h('label', { for: id }, h('code', {}, type), ' · ', text)) };
  });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  return {
    el: h('fieldset', { class: 'event-types' }, h('legend', {}, 'Events to send'), boxes.map((b) => b.el), error),
    /** Null for every type, or the list ticked. */
    value() {
      const ticked = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
      return ticked.length === boxes.length ? null : ticked;
    },
    error(message) { error.textContent = message; error.hidden = !message; },
  };
}

/** The secret, shown once, with what to do with it. */
function secretCard(secret, intro) {
  return h('div', { class: 'notice', id: 'webhook-secret', role: 'status' },
    h('p', {}, h('strong', {}, intro)),
    h('p', {}, h('code', { class: 'value', dataset: { secret } }, secret), ' ', copyButton(secret, 'the signing secret')),
    h('p', { class: 'help' }, 'It is shown this once. Your receiver checks the ', h('code', {}, 'webhook-signature'),
      ' header with it, as the Standard Webhooks specification says (its libraries do it in one call).'));
}

function endpointForm(endpoint, onSaved) {
  const url = h('input', {
    id: 'webhook-url', name: 'url', type: 'url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: 'https://hooks.example.com/portico',
  });
  url.value = endpoint ? endpoint.url : '';
  const urlError = fieldError(url);
  const description = h('input', { id: 'webhook-description', name: 'description', autocomplete: 'off' });
  description.value = endpoint ? endpoint.description : '';
  const descriptionError = fieldError(description);
  const types = eventTypesFieldset(endpoint && endpoint.event_types);
  const submit = h('button', { type: 'submit', class: 'primary' }, endpoint ? 'Save the endpoint' : 'Add the endpoint');
  const result = h('p', { class: 'form-result', role: 'status' });
  const form = h('form', { class: endpoint ? 'endpoint-form' : 'card endpoint-form', novalidate: true },
    endpoint ? null : h('h2', {}, 'New endpoint'),
    h('label', { for: 'webhook-url' }, 'URL'),
    url,
    h('p', { class: 'help' }, 'An https:// address that answers POST with a 2xx status within 10 seconds.'),
    urlError.el,
    h('label', { for: 'webhook-description' }, 'Description (optional)'),
    description,
    descriptionError.el,
    types.el,
    submit,
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    urlError.show('');
    descriptionError.show('');
    types.error('');
    result.textContent = '';
    if (!url.value.trim()) { urlError.show('Type the address your receiver listens on.'); url.focus(); return; }
    const eventTypes = types.value();
    if (eventTypes && !eventTypes.length) { types.error('Tick at least one event.'); return; }
    const body = { url: url.value.trim(), description: description.value.trim(), event_types: eventTypes };
    submit.disabled = true;
    try {
      const saved = endpoint
        ? await api('PATCH', `/v1/webhooks/${encodeURIComponent(endpoint.id)}`, body)
        : await post('/v1/webhooks', body);
      result.textContent = endpoint ? 'Saved.' : '';
      onSaved(saved);
    } catch (err) {
      if (err.field === 'description') { descriptionError.show(err.message); description.focus(); } else if (err.field === 'event_types') { types.error(err.message); } else { urlError.show(err.message); url.focus(); }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function webhookList(main) {
  const { endpoints } = await get('/v1/webhooks');
  const created = h('div', {});
  fill(main,
    h('h1', {}, 'Webhooks'),
    h('p', { class: 'lead' }, 'Your systems hear about each domain as it changes (added, connected, certificate active…) instead of asking. Each message is signed and retried for more than a day until your endpoint takes it.'),
    created,
    endpoints.length
      ? h('ul', { class: 'pages endpoints' }, endpoints.map((endpoint) => h('li', { class: 'card', dataset: { endpoint: endpoint.url } },
        h('div', { class: 'domain-head' },
          h('a', { class: 'domain-name', href: `#/webhooks/${encodeURIComponent(endpoint.id)}` }, endpoint.url),
          enabledBadge(endpoint)),
        endpoint.description ? h('p', { class: 'muted' }, endpoint.description) : null,
        h('p', { class: 'muted' }, endpoint.event_types ? endpoint.event_types.join(', ') : 'Every event'),
        endpoint.disabled_reason ? h('p', {}, endpoint.disabled_reason) : null)))
      : h('p', { class: 'empty' }, 'No endpoints yet.'),
    endpointForm(null, (saved) => {
      announce(`Endpoint ${saved.url} added`);
      // The endpoint's page shows the secret once (kept in memory only, for that page).
      justCreated = { id: saved.id, secret: saved.secret };
      location.hash = `#/webhooks/${encodeURIComponent(saved.id)}`;
    }));
}

function attemptsList(message) {
  if (!message.attempts.length) return h('p', { class: 'muted' }, 'Not tried yet.');
  return h('table', { class: 'records attempts' },
    h('caption', {}, 'Attempts'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Answer'), h('th', { scope: 'col' }, 'Took'), h('th', { scope: 'col' }, 'Body (first 1 KiB)'))),
    h('tbody', {}, message.attempts.map((attempt) => h('tr', {},
      h('td', { 'data-label': 'When' }, timeEl(attempt.attempted_at)),
      h('td', { 'data-label': 'Answer' }, attempt.status_code === null ? 'No answer' : h('code', {}, String(attempt.status_code))),
      h('td', { 'data-label': 'Took' }, `${attempt.latency_ms} ms`),
      h('td', { 'data-label': 'Body' }, h('code', { class: 'value' }, attempt.response || '—'))))));
}

function messageItem(endpointId, message, onRedelivered) {
  const [state, label] = MESSAGE_STATES[message.state] || ['pending', message.state];
  const result = h('span', { class: 'muted', role: 'status' });
  const redeliver = h('button', {
    type: 'button', class: 'secondary', 'aria-label': `Send ${message.webhook_id} again`,
  }, 'Send again');
  redeliver.addEventListener('click', async () => {
    redeliver.disabled = true;
    try {
      await post(`/v1/webhooks/${encodeURIComponent(endpointId)}/messages/${message.id}/redeliver`);
      announce(`${message.webhook_id} queued again`);
      await onRedelivered();
    } catch (err) {
      result.textContent = err.message;
    } finally {
      redeliver.disabled = false;
    }
  });
  return h('li', { class: 'check', dataset: { message: message.webhook_id, type: message.type, state: message.state } },
    h('div', { class: 'check-head' },
      h('span', { class: `state state-${state}` }, label), ' ', h('strong', {}, h('code', {}, message.type)),
      ' ', h('span', { class: 'muted' }, timeEl(message.created_at))),
    h('p', { class: 'muted' }, h('code', {}, message.webhook_id),
      message.state === 'pending' && message.next_attempt_at ? [' · next attempt ', timeEl(message.next_attempt_at)] : null),
    attemptsList(message),
    h('div', { class: 'actions' }, redeliver, result));
}

export async function webhookDetail(main, ctx, id) {
  const path = `/v1/webhooks/${encodeURIComponent(id)}`;
  const endpoint = await get(path);
  const secretArea = h('div', {});
  if (justCreated && justCreated.id === id) fill(secretArea, secretCard(justCreated.secret, 'Endpoint added. Its signing secret:'));
  justCreated = null;
  const badge = h('span', { id: 'endpoint-state' }, enabledBadge(endpoint));
  const stateLine = h('p', { id: 'endpoint-why' });
  const log = h('ul', { class: 'checks messages', id: 'delivery-log' });
  const logResult = h('p', { class: 'muted', role: 'status' });

  const showState = () => {
    fill(badge, enabledBadge(endpoint));
    fill(stateLine,
      endpoint.disabled_reason ? endpoint.disabled_reason
        : endpoint.failing_since ? ['Failing since ', timeEl(endpoint.failing_since), ': messages are retried until it answers.']
          : endpoint.enabled ? 'On: messages are sent as events happen.' : 'Off.');
  };
  const loadLog = async () => {
    const { messages } = await get(`${path}/messages?limit=20`);
    // Rebuilt every few seconds: `refill` keeps the keyboard on the same button.
    refill(log, messages.length
      ? messages.map((message) => messageItem(id, message, loadLog))
      : h('li', { class: 'empty' }, 'No messages yet: they appear here as events happen.'));
  };

  const toggle = h('button', { type: 'button', class: 'secondary', id: 'toggle-endpoint' });
  const label = () => { toggle.textContent = endpoint.enabled ? 'Switch off' : 'Switch on'; };
  label();
  toggle.addEventListener('click', async () => {
    toggle.disabled = true;
    try {
      Object.assign(endpoint, await api('PATCH', path, { enabled: !endpoint.enabled }));
      announce(endpoint.enabled ? 'Endpoint switched on' : 'Endpoint switched off');
      showState();
      label();
    } catch (err) {
      toggle.after(errorBox(err.message));
    } finally {
      toggle.disabled = false;
    }
  });

  const overlap = h('select', { id: 'rotate-overlap', name: 'overlap' }, OVERLAPS.map(([s, text]) => h('option', { value: s }, text)));
  const rotate = h('button', { type: 'button', class: 'secondary', id: 'rotate-secret' }, 'Rotate the secret');
  rotate.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Rotate the signing secret?',
      body: 'A new secret signs every message from now on. Until the overlap ends, the old one signs them too, so your receiver can switch over.',
      confirm: 'Rotate',
      danger: false,
    });
    if (!ok) { rotate.focus(); return; }
    try {
      const rotated = await post(`${path}/rotate`, { overlap_seconds: Number(overlap.value) });
      Object.assign(endpoint, rotated);
      fill(secretArea, secretCard(rotated.secret, 'Secret rotated. The new signing secret:'));
      announce('Secret rotated');
    } catch (err) {
      fill(secretArea, errorBox(err.message));
    }
  });

  const remove = h('button', { type: 'button', class: 'danger', id: 'remove-endpoint' }, 'Remove the endpoint');
  remove.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Remove ${endpoint.url}?`,
      body: 'Nothing more is sent to it, and its delivery log is deleted.',
      confirm: 'Remove the endpoint',
    });
    if (!ok) { remove.focus(); return; }
    try {
      await del(path);
      announce('Endpoint removed');
      location.hash = '#/webhooks';
    } catch (err) {
      remove.after(errorBox(err.message));
    }
  });

  const refresh = h('button', { type: 'button', class: 'secondary', id: 'refresh-log' }, 'Refresh');
  refresh.addEventListener('click', async () => {
    await loadLog();
    logResult.textContent = 'Up to date.';
  });

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/webhooks' }, '← Webhooks')),
    h('div', { class: 'title-row' }, h('h1', {}, endpoint.url), badge),
    stateLine,
    secretArea,
    h('div', { class: 'actions' }, toggle),
    h('section', { class: 'section', 'aria-labelledby': 'log-heading' },
      h('h2', { id: 'log-heading' }, 'Delivery log'),
      h('p', { class: 'help' }, 'The latest 20 messages, newest first, with each attempt. A message keeps its ', h('code', {}, 'webhook-id'), ' on every attempt: use it to ignore duplicates.'),
      h('div', { class: 'actions' }, refresh, logResult),
      log),
    h('section', { class: 'section', 'aria-labelledby': 'settings-heading' },
      h('h2', { id: 'settings-heading' }, 'Settings'),
      endpointForm(endpoint, (saved) => { Object.assign(endpoint, saved); showState(); announce('Endpoint saved'); })),
    h('section', { class: 'section', 'aria-labelledby': 'secret-heading' },
      h('h2', { id: 'secret-heading' }, 'Signing secret'),
      endpoint.previous_secret_valid_until
        ? h('p', {}, 'The previous secret also signs until ', timeEl(endpoint.previous_secret_valid_until, false), '.') : null,
      h('label', { for: 'rotate-overlap' }, 'The old secret keeps signing for'),
      overlap,
      rotate),
    h('section', { class: 'section', 'aria-labelledby': 'remove-heading' },
      h('h2', { id: 'remove-heading' }, 'Remove'), remove));
  showState();
  await loadLog();
  // The log and the endpoint's state move as messages are tried: looked at again every few seconds.
  const timer = setInterval(async () => {
    try {
      const [fresh] = await Promise.all([get(path), loadLog()]);
      if (fresh.enabled !== endpoint.enabled || fresh.failing_since !== endpoint.failing_since) {
        announce(fresh.enabled ? (fresh.failing_since ? 'The endpoint is failing' : 'The endpoint is taking messages') : 'The endpoint is off');
      }
      Object.assign(endpoint, fresh);
      showState();
      label();
    } catch (err) {
      console.warn('refresh failed', err);
    }
  }, 3000);
  return () => clearInterval(timer);
}
