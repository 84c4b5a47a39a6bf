//! The watch: one thread that looks, a few times a tenth of a second, for calls past
//! their deadline whose request is still parked ([`super::handover`]), and answers
//! those with 504. It is never woken by a request.
//!
//! Each thread that calls apps has one place the watch looks at, made the first time it
//! calls one: the call it runs now, if any. A call is put there as it starts and taken
//! away by the same thread when it is over, so a call that ends in time costs the
//! watch nothing, and no other thread ever holds (and then frees) what it was made of.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::handover::{self, Handover};

/// How often the watch looks: a late call is answered at most this long after its
/// deadline.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// One thread's call, if it runs one.
type Place = Mutex<Option<Arc<Handover>>>;

/// Every calling thread's place; a thread that ended leaves a dead one, dropped at the
/// next look.
type Places = Mutex<Vec<Weak<Place>>>;

#[derive(Default)]
pub struct Watch {
    places: Arc<Places>,
}

thread_local! {
    /// This thread's place, and the watch it was shown to.
    static MINE: RefCell<Option<(Weak<Places>, Arc<Place>)>> = const { RefCell::new(None) };
}

impl Watch {
    /// Starts the watch's thread; it lives as long as the server.
    pub fn start() -> Result<Watch, String> {
        let watch = Watch::default();
        let places = watch.places.clone();
        std::thread::Builder::new()
            .name("embed-watch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(LOOK_EVERY);
                    look(&places);
                }
            })
            .map_err(|e| format!("cannot start the thread that watches embedded calls: {e}"))?;
        Ok(watch)
    }

    /// Watches a call, run by this thread, until the returned guard is dropped.
    pub fn keep(&self, call: Arc<Handover>) -> Watched {
        let place = MINE.with_borrow_mut(|mine| match mine {
            Some((watch, place)) if std::ptr::eq(watch.as_ptr(), Arc::as_ptr(&self.places)) => {
                place.clone()
            }
            _ => {
                let place = Arc::new(Place::default());
                lock(&self.places).push(Arc::downgrade(&place));
                *mine = Some((Arc::downgrade(&self.places), place.clone()));
                place
            }
        });
        *lock(&place) = Some(call);
        Watched(place)
    }
}

/// A call under watch; dropping it, on the call's thread, ends the watch.
pub struct Watched(Arc<Place>);

impl Drop for Watched {
    fn drop(&mut self) {
        // Taken out first, so that the call is freed after the lock is let go.
        let call = lock(&self.0).take();
        drop(call);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn look(places: &Places) {
    let now = Instant::now();
    let mut late = Vec::new();
    {
        let mut places = lock(places);
        places.retain(|place| {
            let Some(place) = place.upgrade() else {
                return false;
            };
            if let Some(call) = lock(&place).as_ref()
                && let Some(taken) = call.take_late(now)
            {
                late.push(taken);
            }
            true
        });
    }
    // Answered outside the locks: a slow client must not hold up new calls.
    for (parked, error) in late {
        handover::answer_late(parked, error);
    }
}
