//! The environ's meta-variables as a thread gave them to its last request, kept for its
//! next one.
//!
//! On a kept-alive connection one request's meta-variables are mostly the last one's:
//! the same `SERVER_NAME`, `REMOTE_ADDR`, `SCRIPT_NAME`, `HTTP_HOST`... Making each a new
//! Python string, inserting it, and freeing it after the call was a good part of what an
//! embedded call cost. A Python `str` cannot change, so handing the next request the
//! same object is invisible to an app. So each thread keeps, variable by variable in the
//! environ's order, the name and value it made last, and a dict of them. When the next
//! request has the same names, its dict is a copy of that one (one copy, where
//! inserting was one hash-table insert per variable), with only the values that differ
//! made anew; the app gets the copy and may change it as it likes. What a thread keeps
//! is bounded: at most [`MAX_VARIABLES`] variables, none longer than [`MAX_KEPT`] bytes.

use std::borrow::Cow;
use std::cell::RefCell;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::request::environ::Environ;

/// How many variables a thread keeps (an environ has about 25).
const MAX_VARIABLES: usize = 64;
/// The longest name or value kept; a longer one is made for each request.
const MAX_KEPT: usize = 256;

/// One variable's name and value as last made.
struct Slot {
    name: Cow<'static, str>,
    py_name: Py<PyString>,
    /// `None` when the value was too long to keep.
    value: Option<(Vec<u8>, Py<PyString>)>,
}

/// What one thread keeps.
#[derive(Default)]
struct Last {
    slots: Vec<Slot>,
    /// The last request's variables, in order, when every name was kept.
    dict: Option<Py<PyDict>>,
}

thread_local! {
    static LAST: RefCell<Last> = RefCell::new(Last::default());
}

/// A new dict of `env`'s variables.
pub fn variables<'py>(py: Python<'py>, env: &Environ) -> PyResult<Bound<'py, PyDict>> {
    LAST.with_borrow_mut(|last| {
        let same_names = last.dict.is_some()
            && last.slots.len() == env.len()
            && env
                .iter_named()
                .zip(&last.slots)
                .all(|((name, _), slot)| *name == slot.name);
        if same_names {
            copy_of_last(py, last, env)
        } else {
            made_anew(py, last, env)
        }
    })
}

/// The last dict, copied, with the values that differ set anew (in it too).
fn copy_of_last<'py>(
    py: Python<'py>,
    last: &mut Last,
    env: &Environ,
) -> PyResult<Bound<'py, PyDict>> {
    let kept = last.dict.as_ref().expect("checked by the caller").bind(py);
    let dict = kept.copy()?;
    for ((_, value), slot) in env.iter_named().zip(&mut last.slots) {
        let value = value.as_encoded_bytes();
        if let Some((bytes, _)) = &slot.value
            && bytes.as_slice() == value
        {
            continue;
        }
        let name = slot.py_name.bind(py).clone();
        let s = keep_value(py, slot, value);
        dict.set_item(&name, &s)?;
        kept.set_item(name, &s)?;
    }
    Ok(dict)
}

/// Every variable inserted one by one; what can be kept is kept for the next request.
fn made_anew<'py>(py: Python<'py>, last: &mut Last, env: &Environ) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    // Slots stand for the first variables, in order: past the first that cannot be
    // kept, nothing is.
    let mut keeping = true;
    last.slots.truncate(env.len());
    for (at, (name, value)) in env.iter_named().enumerate() {
        let value = value.as_encoded_bytes();
        keeping = keeping && at < MAX_VARIABLES && name.len() <= MAX_KEPT;
        if !keeping {
            last.slots.truncate(at);
            dict.set_item(PyString::new(py, name), latin1(py, value))?;
            continue;
        }
        if last.slots.get(at).is_none_or(|slot| slot.name != *name) {
            // Interned: every thread's copy is one object, hashed once.
            let slot = Slot {
                name: name.clone(),
                py_name: PyString::intern(py, name).unbind(),
                value: None,
            };
            last.slots.truncate(at);
            last.slots.push(slot);
        }
        let slot = &mut last.slots[at];
        let s = match &slot.value {
            Some((bytes, s)) if bytes.as_slice() == value => s.bind(py).clone(),
            _ => keep_value(py, slot, value),
        };
        dict.set_item(slot.py_name.bind(py), s)?;
    }
    last.dict = if keeping {
        Some(dict.copy()?.unbind())
    } else {
        None
    };
    Ok(dict)
}

/// A new string for `value`, kept in `slot` when short enough (its buffer reused).
fn keep_value<'py>(py: Python<'py>, slot: &mut Slot, value: &[u8]) -> Bound<'py, PyString> {
    let s = latin1(py, value);
    match &mut slot.value {
        _ if value.len() > MAX_KEPT => slot.value = None,
        Some((bytes, kept)) => {
            bytes.clear();
            bytes.extend_from_slice(value);
            *kept = s.clone().unbind();
        }
        None => slot.value = Some((value.to_vec(), s.clone().unbind())),
    }
    s
}

/// Bytes as a native string: each byte one character (Latin-1), decoded in one pass.
pub fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    // SAFETY: the pointer and length are those of `bytes`, alive for the call, and the
    // GIL is held. Latin-1 decodes every byte, so only a failed allocation returns null,
    // and that panics, as PyO3's own string constructors do.
    unsafe {
        let s = pyo3::ffi::PyUnicode_DecodeLatin1(
            bytes.as_ptr().cast(),
            bytes.len() as pyo3::ffi::Py_ssize_t,
            std::ptr::null(),
        );
        Bound::from_owned_ptr(py, s).cast_into_unchecked()
    }
}
