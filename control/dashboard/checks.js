// What customers type is checked in the browser with shared's wasm package
// (the very rules the API applies again). Without the package (not built),
// every check answers `null` and the API's answer is what the customer sees.

let checks = null;
let loading = null;

/** Loads the package once; resolves true when it is usable. */
export function loadChecks() {
  if (!loading) {
    loading = (async () => {
      try {
        const wasm = await import('/dashboard/wasm/portico_shared.js');
        await wasm.default({ module_or_path: '/dashboard/wasm/portico_shared_bg.wasm' });
        checks = wasm;
        document.documentElement.dataset.wasmChecks = 'on';
        return true;
      } catch (err) {
        console.warn('Checking in the browser is off (the wasm package did not load); the server still checks everything.', err);
        document.documentElement.dataset.wasmChecks = 'off';
        return false;
      }
    })();
  }
  return loading;
}

function call(fn, ...args) {
  if (!checks) return null;
  try {
    return checks[fn](...args);
  } catch (err) {
    console.warn(`${fn} failed in the browser`, err);
    return null;
  }
}

/** `{ ok, value }` / `{ ok: false, error: { code, message } }`, or null without the package. */
export const classifyDomain = (input, platform, username) => call('classifyDomain', input, platform, username);
export const checkSlug = (input) => call('checkSlug', input);
export const checkUsername = (input) => call('checkUsername', input);
export const checkExternalUrl = (url, domain, platform) => call('checkExternalUrl', url, domain, platform);

/**
 * A link path (`courses/intro`; for a mount also `members/*`), segment by
 * segment with shared's page-name rule, plus the depth and length bounds of
 * `LinkPath`. `{ ok, value: { path, prefix } }`, an error, or null without
 * the package.
 */
export function checkLinkPath(input, allowPrefix) {
  let raw = input.trim().replace(/^\/+/, '');
  let prefix = false;
  if (allowPrefix && raw.endsWith('/*')) { prefix = true; raw = raw.slice(0, -2); }
  raw = raw.replace(/\/$/, '');
  const segments = raw.split('/');
  if (segments.length > 6) return { ok: false, error: { code: 'path_too_deep', message: 'a path has at most 6 parts (`/a/b/c`)' } };
  if (raw.length > 200) return { ok: false, error: { code: 'path_too_long', message: 'a path holds at most 200 characters' } };
  const out = [];
  for (const segment of segments) {
    const checked = checkSlug(segment);
    if (!checked || !checked.ok) return checked;
    out.push(checked.value.slug);
  }
  return { ok: true, value: { path: out.join('/'), prefix } };
}
