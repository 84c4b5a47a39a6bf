//! Ending workers: reaping the ones that exited (and saying how each died), killing the
//! ones that are late or broken, and stopping them all when the server stops. A worker
//! that dies before it is ready is a failed start, counted by [`super::boot`].

use std::process::ExitStatus;
use std::thread;
use std::time::{Duration, Instant};

use super::boot::{BOOT_TIMEOUT, PoolRun};
use super::spawn::{self, LastLine};
use super::state::{Phase, Status};

/// How long a dead worker's log may stay open (held by a process it started) before its
/// last line is taken as it is.
const LAST_WORDS: Duration = Duration::from_millis(500);
/// How long a worker told to stop (SIGTERM) may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Collects every exited worker of one pool and logs how it ended; one that died before
/// it was ready is a failed start, and its own last log line says why.
pub fn reap(run: &mut PoolRun) {
    let shared = run.shared.clone();
    let mut state = shared.lock();
    let max_requests = state.max_requests;
    let mut exited = Vec::new();
    let mut i = 0;
    while i < state.workers.len() {
        let status = match state.workers[i].child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => {
                i += 1;
                continue;
            }
            Err(_) => ExitStatus::default(),
        };
        let mut w = state.workers.swap_remove(i);
        // Whatever it started goes with it, and its log ends.
        w.group.kill_rest();
        state.idle.retain(|(id, _)| *id != w.id);
        let _ = std::fs::remove_file(&w.socket);
        exited.push((w, status));
    }
    // Oldest first, so that the count follows the order in which they started.
    exited.sort_by_key(|(w, _)| w.id);
    for (w, status) in exited {
        let how = describe(status);
        // A worker that dies before it is ready counts against the pool, unless
        // the pool has already given up or is stopping.
        let booting = !w.ready
            && w.doomed.is_none()
            && matches!(state.status, Status::Running | Status::Backoff);
        if !booting {
            let after = match (w.phase, w.doomed) {
                (Phase::Busy, _) => " while serving a request".to_string(),
                (_, Some(why)) => {
                    let past = match w.past_limit(max_requests) {
                        0 => String::new(),
                        n => format!(
                            ": {n} past --max-requests {max_requests}, \
                             while no other worker was idle"
                        ),
                    };
                    format!(" ({why}, {} requests served{past})", w.served)
                }
                _ => format!(" after {} requests", w.served),
            };
            eprintln!("pool {}: worker {} {how}{after}", shared.name, w.pid);
            continue;
        }
        // Its log thread may still hold its last words: wait for them unlocked.
        drop(state);
        let reason = last_words(&w.last_line, &how);
        state = shared.lock();
        let what = format!("worker {} {how} before it was ready", w.pid);
        run.boot_failed(&mut state, &what, reason);
    }
}

/// Kills (SIGKILL to the whole process group) the workers of one pool marked for it, busy
/// workers well past `timeout`, and workers that did not stop when told.
pub fn murder(run: &PoolRun, timeout: Duration) {
    let late = timeout + Duration::from_secs(2);
    let mut state = run.shared.lock();
    let mut killed = Vec::new();
    for w in &mut state.workers {
        let mut quiet = false;
        let reason = if let Some(reason) = w.kill.take() {
            // A probe that failed because the worker already exited: its exit line says
            // more (the reaping logs it), so the kill is not worth a line of its own.
            quiet = reason.starts_with("not ready") && spawn::exited(w.pid);
            Some(reason)
        } else if w.busy_since.is_some_and(|t| t.elapsed() > late) {
            Some(format!("busy for more than {} s", late.as_secs()))
        } else if w.phase == Phase::Starting && w.started.elapsed() > BOOT_TIMEOUT {
            Some(format!("not ready after {} s", BOOT_TIMEOUT.as_secs()))
        } else if w.signalled.is_some_and(|t| t.elapsed() > STOP_GRACE) {
            Some("did not stop after SIGTERM".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            spawn::signal_group(w.pid, libc::SIGKILL);
            if !quiet {
                eprintln!(
                    "pool {}: worker {} killed: {reason}",
                    run.shared.name, w.pid
                );
            }
            w.phase = Phase::Stopping;
            w.busy_since = None;
            // Killed: nothing more to wait for but the reaping.
            w.signalled = Some(Instant::now() + Duration::from_secs(3600));
            killed.push(w.id);
        }
    }
    state.idle.retain(|(id, _)| !killed.contains(id));
}

/// SIGINT/SIGTERM: every worker group of every pool gets SIGTERM, then SIGKILL after a
/// grace period; every worker is reaped before the server exits.
pub fn stop_all(pools: &[PoolRun]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    // All are told first, so that they stop side by side within one grace period.
    for run in pools {
        let mut state = run.shared.lock();
        state.status = Status::Stopped;
        state.idle.clear();
        for w in &state.workers {
            spawn::signal_group(w.pid, libc::SIGTERM);
        }
        run.shared.notify();
    }
    for run in pools {
        let mut state = run.shared.lock();
        for w in &mut state.workers {
            loop {
                match w.child.try_wait() {
                    Ok(None) if Instant::now() < deadline => {
                        thread::sleep(Duration::from_millis(10))
                    }
                    Ok(None) => {
                        spawn::signal_group(w.pid, libc::SIGKILL);
                        let _ = w.child.wait();
                        break;
                    }
                    _ => break,
                }
            }
            // Whatever it started in its group goes with it.
            spawn::signal_group(w.pid, libc::SIGKILL);
            w.group.kill_rest();
            let _ = std::fs::remove_file(&w.socket);
        }
        let n = state.workers.len();
        state.workers.clear();
        eprintln!("pool {}: stopped {n} workers", run.shared.name);
    }
}

/// Why a worker failed to start: the last line it wrote (waiting briefly for its log to
/// close), or how it ended when it wrote nothing.
fn last_words(last_line: &LastLine, how: &str) -> String {
    let line = last_line.wait(LAST_WORDS);
    if line.trim().is_empty() {
        how.to_string()
    } else {
        line
    }
}

/// "exited with code 1", "killed by signal 9".
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}
