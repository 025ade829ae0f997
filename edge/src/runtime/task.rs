//! Runs a request's future on the runtime's own promises.
//!
//! `wasm-bindgen-futures` (what `#[event(fetch)]` uses) wraps the handler in
//! a fresh `Promise`, polls it from a microtask, and awaits each promise
//! with two new closures, each registered with a `FinalizationRegistry`,
//! waking the task through one more microtask. Per page hit that glue was
//! the largest cost the Rust worker had over its JavaScript twin in V8
//! profiles.
//!
//! Here the future is polled at once, in the call from the runtime. When it
//! waits for a promise (through [`settle`]), the runtime is handed
//! `promise.then(resume)` instead, with one `resume` callback for the
//! isolate's life; `resume` polls the future again and returns its response
//! or the next such promise, which the runtime chains. A request that needs
//! no I/O is answered without any promise at all.
//!
//! A future that waits on anything else (a `JsFuture`, a timer) still works:
//! it is handed to `wasm-bindgen-futures` for the rest of its life.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::runtime::parking::{Id, Parking};

/// A request's future: its output is the response (or what the runtime
/// should make of an error).
type Task = Pin<Box<dyn Future<Output = JsValue>>>;
/// `resume(id, value, fulfilled)`, called by the chained promise.
type Resume = Closure<dyn FnMut(Id, JsValue, bool) -> JsValue>;

thread_local! {
    /// Requests waiting on a promise (a cancelled request's may never
    /// settle: see `parking.rs` for how those are dropped).
    static PARKED: RefCell<Parking<Task>> = RefCell::new(Parking::default());
    /// Set while a request's future is polled here.
    static POLLING: Cell<bool> = const { Cell::new(false) };
    /// The promise the polled future is waiting for, left by [`Settle`].
    static WAITING: RefCell<Option<Promise>> = const { RefCell::new(None) };
    /// The outcome of that promise, taken by the same [`Settle`] on the next poll.
    static OUTCOME: RefCell<Option<Result<JsValue, JsValue>>> = const { RefCell::new(None) };
    /// Whether the polled future kept a waker: something other than
    /// [`Settle`] is waiting, and only `wasm-bindgen-futures` can wake it.
    static WAKER_KEPT: Cell<bool> = const { Cell::new(false) };
    /// The isolate's one `resume` callback, handed to JS once (again after
    /// a panic reset, which starts with fresh wasm memory).
    static RESUME: RefCell<Option<Resume>> = const { RefCell::new(None) };
}

#[wasm_bindgen(inline_js = "
let resume;
export function set_resume(callback) { resume = callback; }
export function chain(promise, id) {
  return promise.then((value) => resume(id, value, true), (error) => resume(id, error, false));
}
")]
extern "C" {
    fn set_resume(callback: &Resume);
    fn chain(promise: &Promise, id: Id) -> Promise;
}

/// Runs `future` for the runtime: its output when it finishes without
/// waiting, else a promise of it. `abandoned` answers a request whose
/// future was dropped (see `parking.rs`) if its promise settles after all.
pub fn run(future: impl Future<Output = JsValue> + 'static, abandoned: fn() -> JsValue) -> JsValue {
    install(abandoned);
    step(Box::pin(future))
}

/// Awaits `promise`: its value, or its rejection as `Err`.
pub fn settle(promise: Promise) -> Settle {
    Settle::Fresh(promise)
}

pub enum Settle {
    Fresh(Promise),
    /// Handed to [`run`]'s chain; the outcome comes through `OUTCOME`.
    Chained,
    /// Awaited the general way (outside [`run`]).
    Elsewhere(JsFuture),
    Done,
}

impl Future for Settle {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match std::mem::replace(this, Settle::Done) {
            Settle::Fresh(promise) => {
                let free = WAITING.with(|waiting| waiting.borrow().is_none());
                if POLLING.get() && free {
                    WAITING.with(|waiting| *waiting.borrow_mut() = Some(promise));
                    *this = Settle::Chained;
                    return Poll::Pending;
                }
                // Not under `run`, or a second promise awaited at once.
                let mut future = JsFuture::from(promise);
                let poll = Pin::new(&mut future).poll(cx);
                if poll.is_pending() {
                    *this = Settle::Elsewhere(future);
                }
                poll
            }
            Settle::Chained => match OUTCOME.with(|outcome| outcome.borrow_mut().take()) {
                Some(outcome) => Poll::Ready(outcome),
                None => {
                    *this = Settle::Chained;
                    Poll::Pending
                }
            },
            Settle::Elsewhere(mut future) => {
                let poll = Pin::new(&mut future).poll(cx);
                if poll.is_pending() {
                    *this = Settle::Elsewhere(future);
                }
                poll
            }
            // A future polled after it finished: an error, not a panic.
            Settle::Done => {
                Poll::Ready(Err(JsValue::from_str("`Settle` polled after it finished")))
            }
        }
    }
}

fn install(abandoned: fn() -> JsValue) {
    RESUME.with(|resume| {
        let mut resume = resume.borrow_mut();
        if resume.is_none() {
            let callback = Resume::new(move |id: Id, value: JsValue, ok: bool| {
                let Some(future) = PARKED.with(|parked| parked.borrow_mut().unpark(id)) else {
                    return abandoned();
                };
                OUTCOME.with(|outcome| {
                    *outcome.borrow_mut() = Some(if ok { Ok(value) } else { Err(value) })
                });
                step(future)
            });
            set_resume(&callback);
            *resume = Some(callback);
        }
    });
}

/// Polls `future` once: its output, or the promise of it.
fn step(mut future: Task) -> JsValue {
    POLLING.set(true);
    WAKER_KEPT.set(false);
    let waker = counting_waker();
    let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
    POLLING.set(false);
    // An outcome nobody took (the future finished without its `Settle`).
    OUTCOME.with(|outcome| outcome.borrow_mut().take());
    let waiting = WAITING.with(|waiting| waiting.borrow_mut().take());
    match poll {
        Poll::Ready(output) => output,
        Poll::Pending => match waiting {
            Some(promise) if !WAKER_KEPT.get() => {
                let id = PARKED.with(|parked| parked.borrow_mut().park(future, js_sys::Date::now));
                chain(&promise, id).into()
            }
            // Something else is waiting (alone, or beside a `Settle`: then
            // the settle's promise is awaited here and fed to it as `resume`
            // would). `wasm-bindgen-futures` drives the rest.
            waiting => wasm_bindgen_futures::future_to_promise(async move {
                if let Some(promise) = waiting {
                    let outcome = JsFuture::from(promise).await;
                    OUTCOME.with(|slot| *slot.borrow_mut() = Some(outcome));
                }
                Ok(future.await)
            })
            .into(),
        },
    }
}

/// A waker that does nothing but note that it was kept: a future that keeps
/// it waits on something only a real executor can wake.
fn counting_waker() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        WAKER_KEPT.set(true);
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable's functions ignore the data pointer.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}
