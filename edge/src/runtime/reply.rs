//! Responses (and the request headers routing reads), built with few calls
//! into JS and without wasm-bindgen's string decoding.
//!
//! wasm-bindgen hands each `&str` to JS through a `TextDecoder` call. In V8
//! profiles of a page hit under `wrangler dev` those calls were the largest
//! piece of glue left (about 4 % of the worker isolate's samples), mostly for
//! the same header names and values on every response. So:
//! - fixed text (`&'static str`: header names, `text/html; …`, binding
//!   names) becomes a JS string once per isolate ([`fixed`]) and is passed
//!   as a reference after that;
//! - per-request text (a KV key, an ETag, a `Location`) is ASCII nearly
//!   always, and is read by JS straight from wasm memory ([`text`]);
//! - a response is one call into JS, which makes its `Headers` and the
//!   `Response` (`new Response(body, { status, headers })`).
//!
//! With the three, the string glue fell below 1 % of the samples.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use web_sys::{Request, Response};
use worker::Result;

#[wasm_bindgen(inline_js = "
export function respond(status, body, n0, v0, n1, v1, n2, v2, n3, v3, n4, v4, n5, v5) {
  const headers = new Headers();
  if (n0 !== undefined) headers.set(n0, v0);
  if (n1 !== undefined) headers.set(n1, v1);
  if (n2 !== undefined) headers.set(n2, v2);
  if (n3 !== undefined) headers.set(n3, v3);
  if (n4 !== undefined) headers.set(n4, v4);
  if (n5 !== undefined) headers.set(n5, v5);
  return new Response(body, { status, headers });
}
export function method_of(request) {
  const method = request.method;
  return method === 'GET' ? 0 : method === 'HEAD' ? 1 : 2;
}
let memory, bytes;
export function set_memory(wasm_memory) { memory = wasm_memory; bytes = undefined; }
export function ascii(ptr, len) {
  // A grown memory detaches the old view.
  if (bytes === undefined || bytes.byteLength === 0) bytes = new Uint8Array(memory.buffer);
  let text = \"\";
  for (let i = ptr, end = ptr + len; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}
")]
extern "C" {
    fn set_memory(memory: &JsValue);
    fn ascii(ptr: *const u8, len: usize) -> JsValue;

    /// `new Response(body, { status, headers })`, the `Headers` made here
    /// from up to six names and values (`undefined` names are skipped).
    #[wasm_bindgen(catch)]
    #[allow(clippy::too_many_arguments)]
    fn respond(
        status: u16,
        body: &JsValue,
        n0: &JsValue,
        v0: &JsValue,
        n1: &JsValue,
        v1: &JsValue,
        n2: &JsValue,
        v2: &JsValue,
        n3: &JsValue,
        v3: &JsValue,
        n4: &JsValue,
        v4: &JsValue,
        n5: &JsValue,
        v5: &JsValue,
    ) -> std::result::Result<Response, JsValue>;

    /// 0 for GET, 1 for HEAD, 2 for any other method.
    fn method_of(request: &Request) -> u8;
}

// The request's `Headers`, read with names passed as JS strings.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = Headers)]
    type HeaderMap;
    #[wasm_bindgen(method, catch, js_class = Headers, js_name = get)]
    fn get_js(this: &HeaderMap, name: &JsValue) -> std::result::Result<Option<String>, JsValue>;
}

/// A header value: fixed text, made a JS string once, this request's own,
/// or a JS string already made.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    Fixed(&'static str),
    Text(&'a str),
    Js(&'a JsValue),
}

/// A response body.
#[derive(Clone, Copy)]
pub enum Body<'a> {
    Empty,
    /// Bytes in wasm memory, copied by the runtime.
    Bytes(&'a [u8]),
    /// An `ArrayBuffer` the runtime holds (page HTML), copied by it too.
    Buffer(&'a JsValue),
}

/// The most headers a response has (a page has five with HSTS; a problem
/// page six at most).
pub const MAX_HEADERS: usize = 6;

/// A response with this status, these headers (at most [`MAX_HEADERS`]) and body.
pub fn reply(
    status: u16,
    headers: &[(&'static str, Value<'_>)],
    body: Body<'_>,
) -> Result<Response> {
    if headers.len() > MAX_HEADERS {
        return Err(format!(
            "a response with {} headers (at most {MAX_HEADERS})",
            headers.len()
        )
        .into());
    }
    let mut pairs: [(JsValue, JsValue); MAX_HEADERS] = Default::default();
    for ((name, value), pair) in headers.iter().zip(pairs.iter_mut()) {
        *pair = (
            fixed(name),
            match value {
                Value::Fixed(value) => fixed(value),
                Value::Text(value) => text(value),
                Value::Js(value) => (*value).clone(),
            },
        );
    }
    // SAFETY: the view is only read by the `Response` constructor, which
    // copies the bytes before returning; nothing allocates in between.
    let view;
    let body = match body {
        Body::Empty => &JsValue::NULL,
        Body::Bytes(bytes) => {
            view = unsafe { js_sys::Uint8Array::view(bytes) };
            view.as_ref()
        }
        Body::Buffer(buffer) => buffer,
    };
    let [(n0, v0), (n1, v1), (n2, v2), (n3, v3), (n4, v4), (n5, v5)] = &pairs;
    Ok(respond(
        status, body, n0, v0, n1, v1, n2, v2, n3, v3, n4, v4, n5, v5,
    )?)
}

/// A request's method, as routing tells methods apart.
pub enum Method {
    Get,
    Head,
    Other,
}

impl Method {
    /// Without passing the method's name into wasm for GET and HEAD.
    pub fn of(request: &Request) -> Method {
        match method_of(request) {
            0 => Method::Get,
            1 => Method::Head,
            _ => Method::Other,
        }
    }
}

/// The request's headers, fetched from JS once.
pub struct RequestHeaders(HeaderMap);

impl RequestHeaders {
    pub fn of(request: &Request) -> RequestHeaders {
        RequestHeaders(request.headers().unchecked_into())
    }

    /// The header `name`, if present.
    pub fn get(&self, name: &'static str) -> Result<Option<String>> {
        Ok(self.0.get_js(&fixed(name))?)
    }
}

/// `text` as a JS string. ASCII (a key, an ETag, a URL: nearly everything
/// the worker sends) is read by a JS loop straight from wasm memory, without
/// the `TextDecoder` call wasm-bindgen makes per string (`String.fromCharCode
/// .apply` over a view measured no better than the decoder).
pub fn text(text: &str) -> JsValue {
    if !text.is_ascii() || text.len() > MAX_ASCII {
        return JsValue::from_str(text);
    }
    thread_local! {
        // Per wasm instance: a reset after a panic starts with new memory.
        static MEMORY_SET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !MEMORY_SET.get() {
        set_memory(&wasm_bindgen::memory());
        MEMORY_SET.set(true);
    }
    ascii(text.as_ptr(), text.len())
}

/// The `Strict-Transport-Security` value for `max_age_s`, as a JS string
/// made once per isolate for the max-age in use (one per deployment).
pub fn hsts(max_age_s: u32) -> JsValue {
    thread_local! {
        static LAST: RefCell<Option<(u32, JsValue)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((cached, value)) if *cached == max_age_s => value.clone(),
            _ => {
                let value = text(&portico_shared::route::hsts_header(max_age_s));
                *last = Some((max_age_s, value.clone()));
                value
            }
        }
    })
}

/// The loop is for short strings (keys and header values are well under
/// this); anything longer goes through `TextDecoder` as before.
const MAX_ASCII: usize = 2048;

/// How many fixed strings are kept (the worker has about fifteen).
const MAX_FIXED: usize = 64;

/// `text` as a JS string, made once per isolate. Keyed by address: a
/// `&'static str` is the same constant every time it is passed.
pub fn fixed(text: &'static str) -> JsValue {
    thread_local! {
        // A linear scan over a few pointers beats hashing the text.
        static FIXED: RefCell<Vec<(usize, usize, JsValue)>> = const { RefCell::new(Vec::new()) };
    }
    let key = (text.as_ptr() as usize, text.len());
    FIXED.with(|fixed| {
        if let Some((_, _, value)) = fixed
            .borrow()
            .iter()
            .find(|(ptr, len, _)| (*ptr, *len) == key)
        {
            return value.clone();
        }
        let value = JsValue::from_str(text);
        let mut fixed = fixed.borrow_mut();
        if fixed.len() < MAX_FIXED {
            fixed.push((key.0, key.1, value.clone()));
        }
        value
    })
}
