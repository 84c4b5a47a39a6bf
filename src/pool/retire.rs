//! Replacing workers gracefully: reload (SIGHUP), resize (SIGTTIN/SIGTTOU), and the
//! retirement of the workers they replace (and of recycled ones), each told to exit only
//! once its successors are ready and it is idle, so no request is cut short.

use std::time::Instant;

use super::boot::PoolRun;
use super::spawn;
use super::state::{Phase, State, Worker};

/// SIGHUP: new workers for one pool (importing the app anew); the old ones retire once
/// the new ones are ready and they have finished their request. A failed pool tries
/// again.
pub fn reload(pool: &mut PoolRun) {
    let shared = pool.shared.clone();
    let mut state = shared.lock();
    pool.try_again(&mut state);
    let mut old = 0;
    for w in &mut state.workers {
        if w.doomed.is_none() && w.phase != Phase::Stopping {
            w.doomed = Some("reloaded");
            old += 1;
        }
    }
    eprintln!(
        "pool {}: reload: starting {} new workers; {old} old ones retire when idle",
        shared.name, pool.target
    );
}

/// SIGTTIN: one worker more.
pub fn add_worker(pool: &mut PoolRun) {
    pool.target += 1;
    eprintln!(
        "pool {}: {} workers (SIGTTIN)",
        pool.shared.name, pool.target
    );
}

/// SIGTTOU: one worker fewer, never below one.
pub fn remove_worker(pool: &mut PoolRun) {
    if pool.target > 1 {
        pool.target -= 1;
        eprintln!(
            "pool {}: {} workers (SIGTTOU)",
            pool.shared.name, pool.target
        );
    } else {
        eprintln!(
            "pool {}: keeping its last worker (SIGTTOU)",
            pool.shared.name
        );
    }
}

/// When a pool has more live workers than `target`, marks the oldest extra ones to be
/// replaced (as "fewer workers").
pub fn mark_extra(state: &mut State, target: usize) {
    let mut live: Vec<&mut Worker> = state
        .workers
        .iter_mut()
        .filter(|w| w.doomed.is_none() && w.phase != Phase::Stopping)
        .collect();
    live.sort_by_key(|w| w.started);
    let extra = live.len().saturating_sub(target);
    for w in live.into_iter().take(extra) {
        w.doomed = Some("fewer workers");
    }
}

/// Tells one pool's replaced workers to exit (SIGTERM to the group), once their
/// successors are ready and they are idle: no request is cut short and none waits for a
/// boot.
pub fn retire(run: &PoolRun) {
    let mut state = run.shared.lock();
    let fresh = state
        .workers
        .iter()
        .filter(|w| w.doomed.is_none() && w.ready && w.phase != Phase::Stopping)
        .count();
    let successors_ready = fresh >= run.target;
    let mut retired = Vec::new();
    for w in &mut state.workers {
        if w.doomed.is_some() && successors_ready {
            w.retire = true;
        }
        let idle = matches!(w.phase, Phase::Idle | Phase::Starting);
        let handed_back = w.phase == Phase::Stopping && w.signalled.is_none();
        if (w.retire && idle) || handed_back {
            spawn::signal_group(w.pid, libc::SIGTERM);
            w.phase = Phase::Stopping;
            w.signalled = Some(Instant::now());
            retired.push(w.id);
        }
    }
    state.idle.retain(|(id, _)| !retired.contains(id));
}
