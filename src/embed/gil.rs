//! The GIL, made visible. One interpreter has one global interpreter lock: a thread runs
//! Python only while it holds it. A connection's thread takes it to call the app and lets
//! it go when the call is over, or whenever it waits for something that is not Python (a
//! client slower than a streaming app); taking it can mean waiting for whichever thread
//! runs Python now. That wait is what this module measures: the `gil` phase.
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

/// Runs `f` with the GIL on this thread, given how long taking it took.
///
/// The thread's Python state is made the first time and kept until the thread ends: a
/// connection's thread calls Python for request after request, and making and freeing
/// a thread state each time costs more than a short app.
pub fn attach<T>(f: impl FnOnce(Python<'_>, Duration) -> T) -> T {
    KEPT.with(|_| ());
    let asked = Instant::now();
    Python::attach(|py| f(py, asked.elapsed()))
}

thread_local! {
    static KEPT: Kept = Kept::new();
}

/// This thread's Python state, kept between calls.
struct Kept {
    state: pyo3::ffi::PyGILState_STATE,
    saved: *mut pyo3::ffi::PyThreadState,
}

impl Kept {
    fn new() -> Kept {
        // SAFETY: the interpreter is started before any app is called; Ensure makes this
        // thread's state and takes the GIL, SaveThread lets the GIL go and keeps the
        // state, so every later attach on this thread finds it.
        unsafe {
            let state = pyo3::ffi::PyGILState_Ensure();
            let saved = pyo3::ffi::PyEval_SaveThread();
            Kept { state, saved }
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        // SAFETY: the thread ends; it takes the GIL back with its own state, and the
        // Release matching the first Ensure frees that state and lets the GIL go.
        unsafe {
            pyo3::ffi::PyEval_RestoreThread(self.saved);
            pyo3::ffi::PyGILState_Release(self.state);
        }
    }
}
