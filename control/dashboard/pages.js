// Pages: the list (with a small "new page" form), and a page's "Get link"
// editor: a domain (or the platform host) and a path, the final URL shown
// as it is typed, a path already in use said inline.

import { api, get, post, del, listAll } from './api.js';
import { loadChecks, checkLinkPath } from './checks.js';
import { h, fill, announce, copyButton, fieldError, confirmDialog, errorBox } from './ui.js';

const KINDS = {
  page: 'Page', checkout: 'Checkout', membership: 'Membership portal', video: 'Video page', calendar: 'Calendar', helpdesk: 'Help desk',
};

function newPageForm(onCreated) {
  const title = h('input', { id: 'page-title', name: 'title', required: true, autocomplete: 'off' });
  const kind = h('select', { id: 'page-kind', name: 'kind' }, Object.entries(KINDS).map(([value, text]) => h('option', { value }, text)));
  const content = h('textarea', { id: 'page-content', name: 'content', rows: 5, spellcheck: 'false' });
  content.value = '<!doctype html>\n<title>My offer</title>\n<h1>My offer</h1>\n<p>Everything you need.</p>\n';
  const titleError = fieldError(title);
  const contentError = fieldError(content);
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'New page'),
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, h('label', { for: 'page-title' }, 'Title'), title, titleError.el),
      h('div', {}, h('label', { for: 'page-kind' }, 'Kind'), kind)),
    h('label', { for: 'page-content' }, 'HTML'),
    content,
    contentError.el,
    h('button', { type: 'submit', class: 'primary' }, 'Create the page'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    titleError.show('');
    contentError.show('');
    if (!title.value.trim()) { titleError.show('Give the page a title.'); title.focus(); return; }
    try {
      const page = await post('/v1/pages', { kind: kind.value, title: title.value.trim(), content: content.value });
      announce(`Page ${page.title} created`);
      onCreated(page);
    } catch (err) {
      if ((err.code || '').startsWith('title')) { titleError.show(err.message); title.focus(); } else { contentError.show(err.message); content.focus(); }
    }
  });
  return form;
}

export async function pageList(main) {
  const [{ pages }, { links }] = await Promise.all([listAll('/v1/pages'), listAll('/v1/links')]);
  const byPage = new Map();
  for (const link of links) {
    if (!byPage.has(link.page_id)) byPage.set(link.page_id, []);
    byPage.get(link.page_id).push(link);
  }
  fill(main,
    h('h1', {}, 'Pages'),
    h('p', { class: 'lead' }, 'Each page is on your platform address until you give it a link on one of your domains: “Get link”.'),
    pages.length
      ? h('ul', { class: 'pages' }, pages.map((page) => h('li', { class: 'card page', dataset: { page: page.title } },
        h('div', { class: 'domain-head' },
          h('strong', {}, page.title),
          h('span', { class: 'muted' }, KINDS[page.kind] || page.kind)),
        (byPage.get(page.id) || []).map((link) => h('p', { class: 'link-url' }, h('code', {}, link.url))),
        h('a', { class: 'button secondary', href: `#/pages/${encodeURIComponent(page.id)}`, 'aria-label': `Get link for ${page.title}` }, 'Get link'))))
      : h('p', { class: 'empty' }, 'No pages yet.'),
    newPageForm((page) => { location.hash = `#/pages/${encodeURIComponent(page.id)}`; }));
}

export async function pageLinks(main, ctx, pageId) {
  await loadChecks();
  const [page, { domains }, { links: allLinks }] = await Promise.all([
    get(`/v1/pages/${encodeURIComponent(pageId)}`), listAll('/v1/domains'), listAll('/v1/links'),
  ]);
  let links = allLinks;
  const platformHost = ctx.account.platform_host;
  const hostOf = (domainId) => (domainId ? (domains.find((d) => d.id === domainId) || {}).served_host : platformHost);

  const domainSelect = h('select', { id: 'link-domain', name: 'domain' },
    h('option', { value: '' }, `${platformHost} (platform address)`),
    domains.map((d) => h('option', { value: d.id }, d.status === 'connected' ? d.served_host_unicode : `${d.served_host_unicode} (${d.status}: live once connected)`)));
  const connected = domains.filter((d) => d.status === 'connected');
  if (connected.length) domainSelect.value = connected[0].id;
  const pathInput = h('input', {
    id: 'link-path', name: 'path', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'link-path-help',
  });
  pathInput.value = page.title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  const pathError = fieldError(pathInput);
  const finalUrl = h('output', { id: 'final-url', for: 'link-domain link-path', class: 'final-url' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save the link');
  const result = h('p', { class: 'form-result', role: 'status', id: 'link-result' });
  let editing = null; // the link being changed (PATCH /v1/links/{id})

  const update = () => {
    const host = hostOf(domainSelect.value);
    const raw = pathInput.value.trim();
    const outcome = raw ? checkLinkPath(raw, false) : null;
    let slug = raw.replace(/^\/+|\/+$/g, '').toLowerCase();
    let message = '';
    if (outcome && !outcome.ok) message = outcome.error.message;
    if (outcome && outcome.ok) slug = outcome.value.path;
    if (!message && slug) {
      const clash = links.find((l) => l.host === host && l.path === `/${slug}` && (!editing || l.id !== editing.id));
      if (clash) {
        message = clash.page_id === page.id
          ? `This page is already at /${slug} on ${host}.`
          : `/${slug} on ${host} is already used by another page: choose another path, or remove that link first.`;
      }
    }
    pathError.show(message);
    fill(finalUrl, `https://${host}/${slug}`);
    return !message;
  };
  // A new edit replaces the last "Saved" line.
  const edited = () => { result.textContent = ''; update(); };
  domainSelect.addEventListener('change', edited);
  pathInput.addEventListener('input', edited);

  const linkList = h('ul', { class: 'links' });
  const renderLinks = () => {
    const mine = links.filter((l) => l.page_id === page.id);
    if (!mine.length) { fill(linkList, h('li', { class: 'muted' }, 'No link yet.')); return; }
    fill(linkList, mine.map((link) => {
      const domain = domains.find((d) => d.id === link.domain_id);
      return h('li', { class: 'link', dataset: { url: link.url } },
        h('a', { href: link.url, rel: 'noopener', target: '_blank' }, link.url), ' ', copyButton(link.url, `link ${link.url}`),
        domain && domain.status !== 'connected' ? h('span', { class: 'muted' }, ` (live once ${domain.served_host_unicode} is connected)`) : null,
        ' ',
        h('button', {
          type: 'button', class: 'link', 'aria-label': `Change ${link.url}`,
          onclick: () => {
            editing = link;
            domainSelect.value = link.domain_id || '';
            pathInput.value = link.path.slice(1);
            save.textContent = 'Save the change';
            update();
            pathInput.focus();
          },
        }, 'Change'),
        ' ',
        h('button', {
          type: 'button', class: 'link danger-text', 'aria-label': `Remove ${link.url}`,
          onclick: async () => {
            if (!await confirmDialog({ title: 'Remove this link?', body: `${link.url} stops showing ${page.title}. The page itself stays.`, confirm: 'Remove the link' })) return;
            try {
              await del(`/v1/links/${encodeURIComponent(link.id)}`);
            } catch (err) {
              if (err.status !== 404) { linkList.after(errorBox(err.message)); return; }
            }
            links = links.filter((l) => l.id !== link.id);
            announce('Link removed');
            renderLinks();
            update();
          },
        }, 'Remove'));
    }));
  };

  const form = h('form', { class: 'card link-editor', novalidate: true },
    h('h2', {}, 'Get link'),
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'link-domain' }, 'Domain'), domainSelect),
      h('div', { class: 'grow' },
        h('label', { for: 'link-path' }, 'Path'),
        h('div', { class: 'prefixed' }, h('span', { 'aria-hidden': 'true' }, '/'), pathInput))),
    h('p', { class: 'help', id: 'link-path-help' }, 'Letters, digits, “-”, “_” and “.”, in up to 6 parts, such as ', h('code', {}, 'offer'), ' or ', h('code', {}, 'courses/intro'), '. To put a membership portal, checkout, video, calendar or help desk at a path, see ', h('a', { href: '#/products' }, 'Products'), '.'),
    pathError.el,
    h('p', {}, 'Final address: ', finalUrl),
    save,
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!pathInput.value.trim()) { pathError.show('Type a path, such as offer.'); pathInput.focus(); return; }
    if (!update()) { pathInput.focus(); return; }
    if (editing && (editing.domain_id || '') === domainSelect.value
      && finalUrl.textContent === `https://${editing.host}${editing.path}`) {
      editing = null;
      save.textContent = 'Save the link';
      pathInput.value = '';
      result.textContent = 'Nothing changed.';
      update();
      return;
    }
    save.disabled = true;
    try {
      const path = pathInput.value.trim();
      const domainId = domainSelect.value || null;
      let link;
      if (editing) {
        // One change: the old address stops as the new one starts, and a taken path changes nothing.
        link = await api('PATCH', `/v1/links/${encodeURIComponent(editing.id)}`, { path, domain_id: domainId });
        links = links.map((l) => (l.id === link.id ? link : l));
        editing = null;
        save.textContent = 'Save the link';
      } else {
        link = await post('/v1/links', domainId ? { page_id: page.id, path, domain_id: domainId } : { page_id: page.id, path });
        links = [...links, link];
      }
      result.textContent = `Saved: ${link.url}`;
      pathInput.value = '';
      renderLinks();
      update();
    } catch (err) {
      pathError.show(err.message);
      pathInput.focus();
    } finally {
      save.disabled = false;
    }
  });

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/pages' }, '← Pages')),
    h('h1', {}, page.title),
    h('p', { class: 'muted' }, KINDS[page.kind] || page.kind, ` · revision ${page.revision}`),
    h('section', { class: 'section', 'aria-labelledby': 'links-heading' },
      h('h2', { id: 'links-heading' }, 'Where this page is'),
      linkList),
    form);
  renderLinks();
  update();
}
