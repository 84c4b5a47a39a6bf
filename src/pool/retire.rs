//! Replacing workers gracefully: resizing (SIGTTIN/SIGTTOU), and the retirement of the
//! workers on their way out (reloaded, recycled, one too many), each told to exit only
//! once its successors are ready and it is idle, so no request is cut short and none
//! waits for a boot.

use std::sync::Arc;

use super::boot::PoolRun;
use super::worker::{Cause, Leaving, Phase};

/// SIGTTIN: one worker more.
pub fn add_worker(run: &mut PoolRun) {
    let mut state = run.shared.lock();
    state.target += 1;
    crate::log!(
        "pool {}: {} workers (SIGTTIN)",
        run.shared.name,
        state.target
    );
}

/// SIGTTOU: one worker fewer, never below one.
pub fn remove_worker(run: &mut PoolRun) {
    let mut state = run.shared.lock();
    if state.target > 1 {
        state.target -= 1;
        crate::log!(
            "pool {}: {} workers (SIGTTOU)",
            run.shared.name,
            state.target
        );
    } else {
        crate::log!(
            "pool {}: keeping its last worker (SIGTTOU)",
            run.shared.name
        );
    }
}

/// When a pool has more workers that count than it should, marks the oldest extra ones
/// to leave (as "fewer workers").
pub fn mark_extra(run: &PoolRun) {
    let mut state = run.shared.lock();
    let target = state.target;
    let mut live: Vec<_> = state.workers.iter_mut().filter(|w| w.counts()).collect();
    live.sort_by_key(|w| w.started);
    let extra = live.len().saturating_sub(target);
    for w in live.into_iter().take(extra) {
        w.leaving = Some(Leaving::Fewer);
    }
}

/// Tells one pool's leaving workers to exit (SIGTERM to the group) once their successors
/// are ready and they are idle (on the shared socket: at once).
pub fn retire(run: &PoolRun) {
    let mut state = run.shared.lock();
    if state.ready_and_counted() < state.target {
        return;
    }
    let name = run.shared.name.clone();
    for w in &mut state.workers {
        // A worker on the shared socket cannot be seen idle: told now, it stops
        // accepting and finishes what it holds (gunicorn's reload does the same).
        if let (Some(why), Phase::Idle | Phase::Accepting) = (w.leaving, w.phase()) {
            w.stop(&name, Cause::Retired(why), libc::SIGTERM);
        }
    }
}

/// Tells a `--preload` pool's old preloaders to leave once every worker they forked is
/// gone (a worker dies with its preloader, so they stay until then).
pub fn retire_preloaders(run: &mut PoolRun) {
    let Some(preload) = &mut run.preload else {
        return;
    };
    let state = run.shared.lock();
    preload.retire(&run.shared.name, |link| {
        state
            .workers
            .iter()
            .any(|w| w.preloader().is_some_and(|l| Arc::ptr_eq(l, link)))
    });
}
