// The public REST API (/v1), with the account token from sessionStorage in
// the Authorization header (never in a URL).

const TOKEN_KEY = 'portico.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(secret) {
  sessionStorage.setItem(TOKEN_KEY, secret);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An API error: `status`, and the API's stable `code`, `message`, `field`. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}`);
    this.status = status;
    this.code = error.code || 'http_' + status;
    this.field = error.field;
    /** `hostname_taken`: the TXT record that proves the hostname is yours. */
    this.proof = error.proof;
  }
}

/** fetch the API; `bearer` overrides the stored token (sign-up with the admin token). */
export async function api(method, path, body, bearer) {
  const headers = { accept: 'application/json' };
  const auth = bearer || token();
  if (auth) headers.authorization = `Bearer ${auth}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'The control plane did not answer: check that it is running, then try again.' } });
  }
  if (response.status === 204) return null;
  let json = null;
  try { json = await response.json(); } catch { json = null; }
  if (!response.ok) {
    if (response.status === 401 && !bearer) {
      window.dispatchEvent(new CustomEvent('portico:unauthorized'));
    }
    throw new ApiError(response.status, json);
  }
  return json;
}

export const get = (path) => api('GET', path);

/** GET a paginated list (`{ <items>: [...], next_cursor }`) following
 * `next_cursor` to its end: every item, in order, under the same key. */
export async function listAll(path) {
  const url = (cursor) => `${path}${path.includes('?') ? '&' : '?'}limit=500`
    + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
  let page = await get(url());
  const key = Object.keys(page).find((name) => Array.isArray(page[name]));
  const items = [...page[key]];
  while (page.next_cursor) {
    page = await get(url(page.next_cursor));
    items.push(...page[key]);
  }
  return { [key]: items, next_cursor: null };
}
export const post = (path, body) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);
