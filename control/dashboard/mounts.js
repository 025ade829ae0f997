// Products: the platform's products of the account (memberships, checkouts,
// videos, calendars, help desks, registered by the platform through the
// API), the "Get link" editor that mounts one at a path or a path prefix on
// a domain or the platform address, and the platform address's Index/404.

import { get, put, post, del, listAll } from './api.js';
import { loadChecks, checkLinkPath } from './checks.js';
import { h, fill, announce, copyButton, fieldError, confirmDialog, errorBox } from './ui.js';
import { targetSettingsForm } from './domains.js';

const KINDS = {
  membership: 'Membership portal', checkout: 'Checkout', video: 'Video', calendar: 'Calendar', helpdesk: 'Help desk', path: 'Platform path',
};

function mountEditor({ products, domains, platformHost, pathsInUse, onSaved }) {
  const domainSelect = h('select', { id: 'mount-domain', name: 'domain' },
    h('option', { value: '' }, `${platformHost} (platform address)`),
    domains.map((d) => h('option', { value: d.id }, d.status === 'connected' ? d.served_host_unicode : `${d.served_host_unicode} (${d.status}: live once connected)`)));
  const connected = domains.filter((d) => d.status === 'connected');
  if (connected.length) domainSelect.value = connected[0].id;
  const hostOf = (domainId) => (domainId ? (domains.find((d) => d.id === domainId) || {}).served_host : platformHost);

  // The account's products, grouped by kind, and a generic platform path.
  const productSelect = h('select', { id: 'mount-product', name: 'product' },
    Object.entries(KINDS).map(([kind, label]) => {
      const ofKind = products.filter((p) => p.kind === kind);
      return ofKind.length ? h('optgroup', { label }, ofKind.map((p) => h('option', { value: p.id }, `${p.name} (${p.origin_path})`))) : null;
    }),
    h('option', { value: '' }, 'Another path on the platform…'));
  const originInput = h('input', { id: 'mount-origin', name: 'origin', autocomplete: 'off', spellcheck: 'false', placeholder: '/p/my-page' });
  const originRow = h('div', { class: 'sub' }, h('label', { for: 'mount-origin' }, 'Path on the platform'), originInput);
  const originError = fieldError(originInput);
  const pathInput = h('input', { id: 'mount-path', name: 'path', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'mount-path-help' });
  const pathError = fieldError(pathInput);
  const prefix = h('input', { type: 'checkbox', id: 'mount-prefix', name: 'prefix', checked: true });
  const finalUrl = h('output', { id: 'mount-url', for: 'mount-domain mount-path mount-prefix', class: 'final-url' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save the link');
  const result = h('p', { class: 'form-result', role: 'status', id: 'mount-result' });

  const update = () => {
    originRow.hidden = productSelect.value !== '';
    const host = hostOf(domainSelect.value);
    const raw = pathInput.value.trim();
    const outcome = raw ? checkLinkPath(raw, false) : null;
    let path = raw.replace(/^\/+|\/+$/g, '').toLowerCase();
    let message = '';
    if (outcome && !outcome.ok) message = outcome.error.message;
    if (outcome && outcome.ok) path = outcome.value.path;
    if (!message && path && pathsInUse().some((used) => used.host === host && used.path === `/${path}`)) {
      message = `/${path} on ${host} is already used by a page or another product: choose another path, or remove that link first.`;
    }
    pathError.show(message);
    fill(finalUrl, `https://${host}/${path}${prefix.checked && path ? '/…' : ''}`);
    return !message;
  };
  const edited = () => { result.textContent = ''; update(); };
  for (const input of [domainSelect, productSelect, prefix]) input.addEventListener('change', edited);
  pathInput.addEventListener('input', edited);

  const form = h('form', { class: 'card link-editor', novalidate: true, id: 'mount-editor' },
    h('h2', {}, 'Get link'),
    h('p', { class: 'help' }, 'Put a membership portal, checkout, video, calendar or help desk at a path of one of your domains.'),
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'mount-product' }, 'Product'), productSelect),
      h('div', {}, h('label', { for: 'mount-domain' }, 'Domain'), domainSelect)),
    originRow, originError.el,
    h('label', { for: 'mount-path' }, 'Path'),
    h('div', { class: 'prefixed' }, h('span', { 'aria-hidden': 'true' }, '/'), pathInput),
    h('p', { class: 'help', id: 'mount-path-help' }, 'Such as ', h('code', {}, 'members'), ' or ', h('code', {}, 'courses/gold'), '.'),
    pathError.el,
    h('div', { class: 'radio' }, prefix, h('label', { for: 'mount-prefix' }, 'And every address under it (', h('code', {}, '/path/…'), ': lessons, the thank-you page, …)')),
    h('p', {}, 'Final address: ', finalUrl),
    save, result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    originError.show('');
    if (!pathInput.value.trim()) { pathError.show('Type a path, such as members.'); pathInput.focus(); return; }
    if (!update()) { pathInput.focus(); return; }
    const path = `/${pathInput.value.trim().replace(/^\/+|\/+$/g, '')}${prefix.checked ? '/*' : ''}`;
    const body = { path };
    if (domainSelect.value) body.domain_id = domainSelect.value;
    body.target = productSelect.value
      ? { type: 'product', product_id: productSelect.value }
      : { type: 'path', origin_path: originInput.value.trim() };
    save.disabled = true;
    try {
      const mount = await post('/v1/mounts', body);
      result.textContent = `Saved: ${mount.url}`;
      pathInput.value = '';
      onSaved(mount);
      update();
    } catch (err) {
      if (err.field === 'target.origin_path') { originError.show(err.message); originInput.focus(); } else { pathError.show(err.message); pathInput.focus(); }
    } finally {
      save.disabled = false;
    }
  });
  update();
  return form;
}

export async function productList(main, ctx) {
  await loadChecks();
  const [{ products }, { mounts: allMounts }, { domains }, { links }, { pages }, platformSettings] = await Promise.all([
    listAll('/v1/products'), listAll('/v1/mounts'), listAll('/v1/domains'), listAll('/v1/links'), listAll('/v1/pages'),
    get('/v1/account/platform-host/settings'),
  ]);
  let mounts = allMounts;
  const platformHost = ctx.account.platform_host;

  const mountList = h('ul', { class: 'links', id: 'mounts' });
  const renderMounts = () => {
    if (!mounts.length) { fill(mountList, h('li', { class: 'muted' }, 'No product has a link yet.')); return; }
    fill(mountList, mounts.map((mount) => {
      const domain = domains.find((d) => d.id === mount.domain_id);
      const what = mount.product ? `${mount.product.name} (${KINDS[mount.product.kind] || mount.product.kind})` : mount.origin_path || '';
      return h('li', { class: 'link', dataset: { url: mount.url } },
        h('a', { href: mount.url, rel: 'noopener', target: '_blank' }, `https://${mount.host}${mount.path}`), ' ', copyButton(mount.url, `link ${mount.url}`),
        ' → ', what,
        mount.state === 'product_missing' ? h('span', { class: 'danger-text' }, ' (the product was removed: this address shows your 404 page)') : null,
        domain && domain.status !== 'connected' ? h('span', { class: 'muted' }, ` (live once ${domain.served_host_unicode} is connected)`) : null,
        ' ',
        h('button', {
          type: 'button', class: 'link danger-text', 'aria-label': `Remove ${mount.url}`,
          onclick: async () => {
            if (!await confirmDialog({ title: 'Remove this link?', body: `${mount.url} stops showing ${what}.`, confirm: 'Remove the link' })) return;
            try {
              await del(`/v1/mounts/${encodeURIComponent(mount.id)}`);
            } catch (err) {
              if (err.status !== 404) { mountList.after(errorBox(err.message)); return; }
            }
            mounts = mounts.filter((m) => m.id !== mount.id);
            announce('Link removed');
            renderMounts();
          },
        }, 'Remove'));
    }));
  };
  const pathsInUse = () => [
    ...links.map((l) => ({ host: l.host, path: l.path })),
    ...mounts.map((m) => ({ host: m.host, path: m.path.replace(/\/\*$/, '') })),
  ];

  fill(main,
    h('h1', {}, 'Products'),
    h('p', { class: 'lead' }, 'Your membership portals, checkouts, videos, calendars and help desks on the platform: give them an address on your domains.'),
    products.length
      ? h('ul', { class: 'pages', id: 'products' }, products.map((p) => h('li', { class: 'card page', dataset: { product: p.name } },
        h('div', { class: 'domain-head' }, h('strong', {}, p.name), h('span', { class: 'muted' }, KINDS[p.kind] || p.kind)),
        h('p', { class: 'muted' }, h('code', {}, p.origin_path)))))
      : h('p', { class: 'empty' }, 'The platform has not registered any product for you yet; you can still link a path on the platform.'),
    h('section', { class: 'section', 'aria-labelledby': 'mounts-heading' },
      h('h2', { id: 'mounts-heading' }, 'Where your products are'),
      mountList),
    mountEditor({ products, domains, platformHost, pathsInUse, onSaved: (mount) => { mounts = [...mounts, mount]; renderMounts(); } }),
    h('section', { class: 'section card', 'aria-labelledby': 'platform-heading', id: 'platform-settings' },
      h('h2', { id: 'platform-heading' }, `Your platform address: ${platformHost}`),
      targetSettingsForm({
        settings: platformSettings,
        pages,
        host: platformHost,
        // The server refuses a URL on the platform address itself.
        checkUrl: () => null,
        save: async (body) => {
          await put('/v1/account/platform-host/settings', body);
          return 'Saved: visitors see the change within seconds.';
        },
      })));
  renderMounts();
}
