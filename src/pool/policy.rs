//! Every duration and count the supervisor decides by, in one place, with where each
//! comes from. `--timeout`, `--graceful-timeout` and `--max-requests` are the user's; these
//! are the supervisor's own.

use std::time::Duration;

/// How long a worker may take to import its app and answer the readiness probe
/// (gunicorn gives a booting worker its `--timeout`; a Django import on a busy machine can
/// take several seconds, so this is generous).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// Failed starts in a row after which a pool gives up until SIGHUP (supervisord's
/// `startretries = 3` allows the same four starts before FATAL). The log counts them as
/// "boot failure K of START_ATTEMPTS".
pub const START_ATTEMPTS: u32 = 4;

/// A worker that dies by itself sooner than this after it became ready was not really
/// started: it counts as a failed start, so a crash loop backs off (supervisord's
/// `startsecs`, whose default is 1 s).
pub const START_SECS: Duration = Duration::from_secs(1);

/// The wait after the first failed start; it doubles with each one in a row.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(250);

/// The longest wait between two tries when the machine, not the app, is at fault (out of
/// descriptors, processes or memory): such a failure never makes a pool give up.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The back-off before try number `n` (1 for the first retry).
pub fn backoff(n: u32) -> Duration {
    BACKOFF_FIRST
        .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
        .min(BACKOFF_MAX)
}

/// A busy worker whose request thread has not given it back this long after `--timeout`
/// is killed by the arbiter itself (the request thread normally does it at `--timeout`).
pub const TIMEOUT_SLACK: Duration = Duration::from_secs(2);

/// How long a worker told to leave (SIGTERM) may take before it is killed. gunicorn's
/// workers get `--graceful-timeout` to finish; ours are told only once idle, so they have
/// nothing to finish but their `atexit` hooks. On the shared socket, where idle cannot be
/// seen, a worker is told at once and gets `--timeout` more, which bounds the requests it
/// may still hold.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// On SIGINT: how long workers get between SIGTERM and SIGKILL.
pub const QUICK_STOP_GRACE: Duration = Duration::from_secs(1);

/// How long a dead worker's log may stay open (held by a process it started) before its
/// last line is taken as it is.
pub const LAST_WORDS: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_and_stops_at_the_ceiling() {
        assert_eq!(backoff(1), BACKOFF_FIRST);
        assert_eq!(backoff(2), BACKOFF_FIRST * 2);
        assert_eq!(backoff(3), BACKOFF_FIRST * 4);
        assert_eq!(backoff(40), BACKOFF_MAX);
    }
}
