//! A panic in app code costs its request a 500 and one log line: [`guarded`] catches it,
//! and the panic hook leaves the report to the request's access log line.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::request::error::RequestError;

thread_local! {
    /// Set while this thread runs app code, so the panic hook leaves the report to us.
    static IN_APP: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic in app code happened.
    static PANIC_PLACE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs app code, catching a panic.
pub fn guarded<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    IN_APP.with(|a| a.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_APP.with(|a| a.set(false));
    result
}

/// For the panic hook: inside app code, keeps where the panic happened for the request's
/// log line and returns true (the hook then prints nothing).
pub fn keep_panic_place(place: &str) -> bool {
    let inside = IN_APP.with(Cell::get);
    if inside {
        PANIC_PLACE.with(|p| *p.borrow_mut() = place.to_string());
    }
    inside
}

/// The text of a panic's payload: what `panic!` was given, if it was text.
pub fn payload_text(payload: &(dyn Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// The error for a panic in app `app`, with where it happened.
pub fn panicked(app: &str, payload: Box<dyn Any + Send>) -> RequestError {
    let text = payload_text(&*payload).unwrap_or_else(|| "a non-text panic".to_string());
    let place = PANIC_PLACE.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let message = if place.is_empty() {
        text
    } else {
        format!("{text} (at {place})")
    };
    RequestError::AppPanicked {
        app: app.to_string(),
        message,
    }
}
