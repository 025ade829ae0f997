// The reference dashboard: hash routes, sign-in, and the screens in
// domains.js, bulk.js, pages.js, mounts.js and webhooks.js. Every call goes to the public /v1 API.

import { api, get, token, signIn, signOut, ApiError } from './api.js';
import { loadChecks, checkUsername } from './checks.js';
import { h, fill, fieldError, announce, errorBox } from './ui.js';
import { domainList, addDomain, domainDetail } from './domains.js';
import { pageList, pageLinks } from './pages.js';
import { bulkAdd } from './bulk.js';
import { webhookList, webhookDetail } from './webhooks.js';
import { productList } from './mounts.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let cleanup = null;
let account = null;

const routes = [
  [/^#\/domains\/new$/, addDomain, 'domains'],
  [/^#\/domains\/bulk$/, bulkAdd, 'domains'],
  [/^#\/domains\/([^/]+)$/, domainDetail, 'domains'],
  [/^#\/domains$/, domainList, 'domains'],
  [/^#\/pages\/([^/]+)$/, pageLinks, 'pages'],
  [/^#\/pages$/, pageList, 'pages'],
  [/^#\/products$/, productList, 'products'],
  [/^#\/webhooks\/([^/]+)$/, webhookDetail, 'webhooks'],
  [/^#\/webhooks$/, webhookList, 'webhooks'],
];

async function ensureAccount() {
  if (account) return account;
  account = await get('/v1/account');
  // `<username>.<platform domain>`: the platform domain is the rest.
  account.platformDomain = account.platform_host.slice(account.username.length + 1);
  document.getElementById('who').textContent = account.username;
  return account;
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const hash = location.hash || '#/domains';
  if (!token()) {
    nav.hidden = true;
    signInScreen();
    return;
  }
  nav.hidden = false;
  for (const [pattern, view, section] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    for (const link of nav.querySelectorAll('[data-nav]')) {
      if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    try {
      const ctx = { account: await ensureAccount() };
      fill(main);
      cleanup = (await view(main, ctx, ...match.slice(1).map(decodeURIComponent))) || null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      fill(main, h('h1', {}, 'Something went wrong'), errorBox(err.message),
        h('p', {}, h('a', { href: '#/domains' }, 'Back to your domains')));
    }
    focusHeading();
    return;
  }
  location.replace('#/domains');
}

/** After a screen changes, focus its heading so screen readers start there. */
function focusHeading() {
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

function signInScreen() {
  const tokenInput = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false', 'aria-describedby': 'token-help',
  });
  const tokenError = fieldError(tokenInput);
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Sign in with an API token of your account (it starts with ', h('code', {}, 'ptk_'), ').'),
    h('label', { for: 'token' }, 'API token'),
    tokenInput,
    h('p', { class: 'help', id: 'token-help' }, 'Kept in this browser tab only, and forgotten when you sign out or close it.'),
    tokenError.el,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const secret = tokenInput.value.trim();
    if (!secret) { tokenError.show('Paste your API token.'); tokenInput.focus(); return; }
    try {
      await api('GET', '/v1/account', undefined, secret);
    } catch (err) {
      tokenError.show(err.code === 'token_expired' ? 'This token expired: ask for a new one.'
        : err.status === 401 ? 'This token is not valid (or was revoked, or its account deleted).'
        : err.status === 403 ? 'This is the admin token: create an account below, or paste an account token.'
          : err.message);
      tokenInput.focus();
      return;
    }
    signIn(secret);
    account = null;
    announce('Signed in');
    location.hash = '#/domains';
    route();
  });
  fill(main, form, newAccountForm());
  focusHeading();
}

/** For the platform's operator (and the local stack): an account and its first token. */
function newAccountForm() {
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'off', spellcheck: 'false', required: true });
  const admin = h('input', { id: 'admin-token', name: 'admin-token', type: 'password', autocomplete: 'off', required: true });
  const usernameError = fieldError(username);
  const adminError = fieldError(admin);
  username.addEventListener('input', () => {
    const checked = checkUsername(username.value.trim());
    usernameError.show(checked && !checked.ok && username.value.trim() ? checked.error.message : '');
  });
  const form = h('form', { novalidate: true },
    h('p', {}, 'With the platform’s admin token (the local stack prints it), create an account and sign in to it.'),
    h('label', { for: 'username' }, 'Username'),
    username,
    h('p', { class: 'help' }, 'Becomes your platform address, ', h('code', {}, 'username.<platform domain>'), ', which your CNAME records point at.'),
    usernameError.el,
    h('label', { for: 'admin-token' }, 'Admin token'),
    admin,
    adminError.el,
    h('button', { type: 'submit', class: 'secondary' }, 'Create the account and sign in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    usernameError.show('');
    adminError.show('');
    const name = username.value.trim();
    const checked = checkUsername(name);
    if (checked && !checked.ok) { usernameError.show(checked.error.message); username.focus(); return; }
    try {
      const created = await api('POST', '/v1/accounts', { username: name }, admin.value.trim());
      const issued = await api('POST', `/v1/accounts/${encodeURIComponent(created.id)}/tokens`, { name: 'dashboard' }, admin.value.trim());
      signIn(issued.secret);
      account = null;
      announce(`Account ${created.username} created; signed in`);
      location.hash = '#/domains';
      route();
    } catch (err) {
      if (err.field === 'username' || (err.code || '').startsWith('username')) { usernameError.show(err.message); username.focus(); }
      else { adminError.show(err.status === 401 || err.status === 403 ? 'This is not the admin token.' : err.message); admin.focus(); }
    }
  });
  return h('details', { class: 'card narrow' }, h('summary', {}, 'No account yet?'), form);
}

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  account = null;
  announce('Signed out');
  location.hash = '#/signin';
});

window.addEventListener('portico:unauthorized', () => {
  signOut();
  account = null;
  if (location.hash !== '#/signin') location.hash = '#/signin';
  else route();
});
window.addEventListener('hashchange', route);

// Pages start before the checks are ready; views ask again when they need them.
loadChecks();
route();
