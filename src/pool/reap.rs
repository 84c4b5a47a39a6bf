//! Ending workers: reaping the ones that exited (and saying how each died, and why when
//! the server ended it), and killing the ones whose time is up. A worker that dies
//! before it is ready, or soon after, is a failed start, counted by [`super::boot`].

use std::time::{Duration, Instant};

use super::boot::PoolRun;
use super::policy::{BOOT_TIMEOUT, LAST_WORDS, START_SECS, STOP_GRACE, TIMEOUT_SLACK};
use super::spawn::{by_itself, describe};
use super::state::Status;
use super::worker::{Cause, Life, Worker, WorkerDoor};
use super::worker_log::LastLine;

/// Collects every exited worker of one pool and logs how it ended; a failed start is
/// counted, with the app's own last words as its reason.
pub fn reap(run: &mut PoolRun) {
    let shared = run.shared.clone();
    let mut state = shared.lock();
    let mut exited = Vec::new();
    let mut i = 0;
    while i < state.workers.len() {
        match state.workers[i].try_exit() {
            Some(status) => exited.push((state.workers.swap_remove(i), status)),
            None => i += 1,
        }
    }
    // Whatever they started goes with them, and their logs end (unlocked: it may take
    // a moment for what is left to die).
    drop(state);
    for (w, _) in &mut exited {
        w.group.kill_rest();
        if let Some(socket) = w.own_socket() {
            let _ = std::fs::remove_file(socket);
        }
    }
    let mut state = shared.lock();
    // Oldest first, so that the count follows the order in which they started.
    exited.sort_by_key(|(w, _)| w.id);
    for (w, status) in exited {
        let how = describe(status);
        // On the shared socket, our worker counts its own requests and leaves after
        // --max-requests with code 0, as gunicorn's do: a recycling, not a failed start.
        if state.max_requests > 0
            && w.heartbeat().is_some()
            && w.cause().is_none()
            && status.code() == Some(0)
        {
            crate::log!(
                "pool {}: worker {} {how} (recycled: it counted --max-requests itself)",
                shared.name,
                w.pid
            );
            continue;
        }
        let failed_start = match (w.ready_at, w.cause()) {
            (None, None | Some(Cause::NotReady(_))) => Some(format!("{how} before it was ready")),
            (Some(ready), None)
                if w.leaving.is_none() && ready.elapsed() < START_SECS && by_itself(status) =>
            {
                Some(format!(
                    "{how} {} ms after it was ready",
                    ready.elapsed().as_millis()
                ))
            }
            _ => None,
        };
        let Some(what) = failed_start else {
            crate::log!("pool {}: worker {} {how}{}", shared.name, w.pid, after(&w));
            continue;
        };
        // Its log thread may still hold its last words: wait for them unlocked.
        drop(state);
        let otherwise = match w.cause() {
            Some(cause) => cause.to_string(),
            None => how.clone(),
        };
        let reason = last_words(&w.last_line, otherwise);
        state = shared.lock();
        let what = format!("worker {} {what}", w.pid);
        run.boot_failed(&mut state, &what, reason);
    }
    // A held pool whose workers are all gone has nothing left to serve with.
    if let Status::Held(reason) = &state.status
        && !state.workers.iter().any(|w| !w.is_stopping())
    {
        let reason = reason.clone();
        crate::log!(
            "pool {}: FAILED, send SIGHUP to try again: {reason}",
            shared.name
        );
        state.status = Status::Failed(reason);
        shared.notify();
    }
}

/// What the log adds after how a worker ended: what it was doing, or why it was ended.
/// Of a worker on the shared socket, the server knows no count of requests.
fn after(w: &Worker) -> String {
    if let WorkerDoor::Shared(_) = w.door {
        return match w.cause() {
            Some(Cause::Retired(why)) => format!(" ({})", why.as_str()),
            Some(Cause::ServerStop) => " (server stopping)".to_string(),
            Some(cause) => format!(" ({cause})"),
            None => String::new(),
        };
    }
    match w.cause() {
        Some(Cause::Retired(why)) => {
            let past = match w.past_limit() {
                0 => String::new(),
                n => format!(
                    ": {n} past --max-requests {}, while no other worker was idle",
                    w.max_requests
                ),
            };
            let memory = w
                .memory_at_stop
                .map(|m| format!("; {m}"))
                .unwrap_or_default();
            format!(
                " ({}, {} requests served{past}{memory})",
                why.as_str(),
                w.served
            )
        }
        Some(Cause::ServerStop) => format!(" (server stopping, {} requests served)", w.served),
        Some(cause) => format!(" ({cause})"),
        None if w.in_flight() == 1 => " while serving a request".to_string(),
        None if w.in_flight() > 1 => format!(" while serving {} requests", w.in_flight()),
        None => format!(" after {} requests", w.served),
    }
}

/// Kills, in one pool, busy workers well past `timeout` (their request thread would have
/// said so), workers on the shared socket whose heartbeat is older than `timeout`,
/// workers not ready after BOOT_TIMEOUT, and workers that did not stop in time after
/// SIGTERM. Returns when the next of these deadlines falls, if any.
pub fn murder(run: &PoolRun, timeout: Duration) -> Option<Instant> {
    let late = timeout + TIMEOUT_SLACK;
    let now = Instant::now();
    let mut state = run.shared.lock();
    let mut next: Option<Instant> = None;
    for w in &mut state.workers {
        // A worker on the shared socket, told to leave, may still finish a request in
        // hand, which --timeout bounds.
        let grace = match w.door {
            WorkerDoor::Shared(_) => timeout + STOP_GRACE,
            WorkerDoor::Own(_) => STOP_GRACE,
        };
        let beat_age = match w.life {
            Life::Running { .. } => w.heartbeat().and_then(|b| b.age()),
            _ => None,
        };
        let (deadline, cause) = match &w.life {
            // Its heartbeat: the start of the oldest request it holds, or its last word
            // while it held none.
            // Given the same slack as a busy worker above: the request's own thread
            // answers 504 at --timeout, before the kill can cut its connection.
            Life::Running { .. } if let Some(age) = beat_age => (
                now + late.saturating_sub(age),
                Cause::Stale {
                    secs: late.as_secs(),
                },
            ),
            // The request that has waited longest.
            Life::Running { busy, .. } if !busy.is_empty() => (
                *busy.iter().min().expect("not empty") + late,
                Cause::Hung {
                    secs: late.as_secs(),
                },
            ),
            Life::Starting { .. } => (
                w.started + BOOT_TIMEOUT,
                Cause::NotReady(format!("no answer after {} s", BOOT_TIMEOUT.as_secs())),
            ),
            Life::Stopping {
                signal: 0,
                since,
                cause,
            } => (*since + STOP_GRACE, cause.clone()),
            Life::Stopping { signal, since, .. } if *signal != libc::SIGKILL => {
                (*since + grace, Cause::Unresponsive)
            }
            _ => continue,
        };
        if deadline <= now {
            w.stop(&run.shared.name, cause, libc::SIGKILL);
        } else {
            next = Some(next.map_or(deadline, |n| n.min(deadline)));
        }
    }
    next
}

/// Why a worker failed to start: the last line it wrote (waiting briefly for its log to
/// close), or `otherwise` when it wrote nothing.
fn last_words(last_line: &LastLine, otherwise: String) -> String {
    let line = last_line.wait(LAST_WORDS);
    if line.trim().is_empty() {
        otherwise
    } else {
        line
    }
}

/// Reaps a `--preload` pool's preloaders that exited. The current one dying before it
/// has imported the app, or by itself after, is a failed start, counted as a worker's.
pub fn reap_preloaders(run: &mut PoolRun) {
    let Some(preload) = &mut run.preload else {
        return;
    };
    let failed = preload.reap(&run.shared.name);
    let current = preload.current_pid();
    let shared = run.shared.clone();
    let mut state = shared.lock();
    state.preloader = current;
    if let Some(failed) = failed {
        run.boot_failed(&mut state, &failed.what, failed.reason);
    }
}
