//! The GIL, made visible. One interpreter has one global interpreter lock: a thread runs
//! Python only while it holds it. A caller thread holds it while the app runs and lets
//! it go whenever it waits for something that is not Python (the next request, a client
//! slower than the app); taking it back can mean waiting for whichever thread runs
//! Python now. That wait is what this module measures: the `gil` phase.
//!
//! CPython makes a thread that holds the GIL let it go when another asks for it and
//! `sys.getswitchinterval()` (5 ms) has passed, so even an app that computes for ever
//! leaves the others a turn; an app that waits (`time.sleep`, a socket) lets it go
//! itself, at once. Those waits, inside the app, are Python's and are not counted here.

use std::time::{Duration, Instant};

use pyo3::Python;

/// Runs `f` with the GIL let go; returns what `f` returned and how long taking the GIL
/// back took once `f` was done.
pub fn detached<T, F>(py: Python<'_>, f: F) -> (T, Duration)
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    let (value, done) = py.detach(|| {
        let value = f();
        (value, Instant::now())
    });
    (value, done.elapsed())
}
