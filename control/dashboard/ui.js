// DOM helpers: elements are built, never parsed from strings, so nothing a
// customer or the API sends is ever read as HTML.

/** h('p', {class: 'x'}, 'text', child…): attributes; `on*` functions become listeners. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Text from the API or `shared`, with `backticked` names shown as code. */
export function rich(text) {
  return String(text ?? '').split('`').map((part, i) => (i % 2 ? h('code', {}, part) : part));
}

const focusKey = (el) => `${el.tagName}|${el.id}|${el.getAttribute('aria-label') || ''}|${el.textContent}`;

/** As `fill`, keeping the keyboard's focus on the same control when it is rebuilt. */
export function refill(el, ...children) {
  const active = document.activeElement;
  const key = active && active !== el && el.contains(active) ? focusKey(active) : null;
  fill(el, ...children);
  if (key) {
    const again = [...el.querySelectorAll('a, button, input, select, textarea')].find((c) => focusKey(c) === key);
    if (again) again.focus();
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Says something to screen readers without moving focus. */
export function announce(text) {
  const region = document.getElementById('announce');
  region.textContent = '';
  // A fresh text node after a tick makes screen readers read it again.
  setTimeout(() => { region.textContent = text; }, 50);
}

const STATUS_LABELS = {
  processing: 'Processing…',
  connected: 'Connected',
  disconnected: 'Disconnected',
};

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}`, dataset: { status } }, STATUS_LABELS[status] || status);
}

const STATE_LABELS = { pass: 'Passed', warn: 'Warning', fail: 'Failed', pending: 'Waiting' };
const STATE_ICONS = { pass: '✓', warn: '!', fail: '✕', pending: '…' };

export function stateBadge(state) {
  return h('span', { class: `state state-${state}` },
    h('span', { 'aria-hidden': 'true' }, STATE_ICONS[state] || '?'), ' ', STATE_LABELS[state] || state);
}

/** A button that copies `value`; `what` names it for screen readers. */
export function copyButton(value, what) {
  const button = h('button', {
    type: 'button', class: 'copy', 'aria-label': `Copy ${what}`, dataset: { copy: value },
  }, 'Copy');
  button.addEventListener('click', async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(value);
      copied = true;
    } catch {
      // No clipboard permission (plain http, an old browser): select the text instead.
      const field = h('textarea', { class: 'visually-hidden', readonly: true }, value);
      document.body.append(field);
      field.select();
      try { copied = document.execCommand('copy'); } catch { copied = false; }
      field.remove();
    }
    button.textContent = copied ? 'Copied' : 'Select and copy';
    announce(copied ? `${what} copied` : `Could not copy ${what}; select it and copy`);
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  });
  return button;
}

/** "in 12 s", "3 min ago", "just now". */
export function relativeTime(iso, now = Date.now()) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '';
  const seconds = Math.round((at - now) / 1000);
  const abs = Math.abs(seconds);
  let text;
  if (abs < 2) return 'just now';
  if (abs < 90) text = `${abs} s`;
  else if (abs < 90 * 60) text = `${Math.round(abs / 60)} min`;
  else if (abs < 36 * 3600) text = `${Math.round(abs / 3600)} h`;
  else text = `${Math.round(abs / 86400)} days`;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

export function clockTime(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  return at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A <time> element showing a relative time, with the exact one on hover. */
export function timeEl(iso, relative = true) {
  return h('time', { datetime: iso, title: clockTime(iso), dataset: relative ? { relative: '1' } : undefined },
    relative ? relativeTime(iso) : clockTime(iso));
}

/** Moves every relative time under `root` on ("in 5 s" → "in 3 s") without rebuilding anything. */
export function refreshTimes(root) {
  for (const el of root.querySelectorAll('time[data-relative]')) {
    el.textContent = relativeTime(el.getAttribute('datetime'));
  }
}

/** A field's error line, tied to its input with aria-describedby. */
export function fieldError(input) {
  const id = `${input.id}-error`;
  const el = h('p', { class: 'field-error', id, role: 'alert', hidden: true });
  const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  input.setAttribute('aria-describedby', [...described, id].join(' '));
  return {
    el,
    show(message) {
      fill(el, rich(message));
      el.hidden = !message;
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

/** A modal confirmation (<dialog>); resolves true when confirmed. */
export function confirmDialog({ title, body, confirm, danger = true }) {
  return new Promise((resolve) => {
    const titleId = uid('dialog-title');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId });
    const done = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    const cancelButton = h('button', { type: 'button', class: 'secondary', onclick: () => done(false) }, 'Cancel');
    dialog.append(
      h('h2', { id: titleId }, title),
      h('p', {}, body),
      h('div', { class: 'actions' },
        cancelButton,
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => done(true) }, confirm)),
    );
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancelButton.focus();
  });
}

export function errorBox(message) {
  return h('div', { class: 'notice notice-error', role: 'alert' }, message);
}
