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
//! - a response is one call (`new Response(body, { status, headers })`)
//!   after its headers.
//!
//! With the three, the string glue fell below 1 % of the samples.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use web_sys::{Request, Response};
use worker::Result;

#[wasm_bindgen(inline_js = "
export function respond(status, headers, body) {
  return new Response(body, { status, headers });
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

    #[wasm_bindgen(catch)]
    fn respond(
        status: u16,
        headers: &HeaderMap,
        body: Option<js_sys::Uint8Array>,
    ) -> std::result::Result<Response, JsValue>;
}

// `Headers` with names and values passed as JS strings where they are fixed.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = Headers)]
    type HeaderMap;
    #[wasm_bindgen(constructor, catch, js_class = Headers)]
    fn new() -> std::result::Result<HeaderMap, JsValue>;
    #[wasm_bindgen(method, catch, js_class = Headers, js_name = set)]
    fn set_js(
        this: &HeaderMap,
        name: &JsValue,
        value: &JsValue,
    ) -> std::result::Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Headers, js_name = get)]
    fn get_js(this: &HeaderMap, name: &JsValue) -> std::result::Result<Option<String>, JsValue>;
}

/// A header value: fixed text, made a JS string once, or this request's own.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    Fixed(&'static str),
    Text(&'a str),
}

/// A response with this status, these headers and, unless `None`, this body.
pub fn reply(
    status: u16,
    headers: &[(&'static str, Value<'_>)],
    body: Option<&[u8]>,
) -> Result<Response> {
    let map = HeaderMap::new()?;
    for (name, value) in headers {
        let name = fixed(name);
        match value {
            Value::Fixed(value) => map.set_js(&name, &fixed(value))?,
            Value::Text(value) => map.set_js(&name, &text(value))?,
        }
    }
    // SAFETY: the view is only read by the `Response` constructor, which
    // copies the bytes before returning; nothing allocates in between.
    let body = body.map(|bytes| unsafe { js_sys::Uint8Array::view(bytes) });
    Ok(respond(status, &map, body)?)
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
