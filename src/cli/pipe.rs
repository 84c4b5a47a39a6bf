//! A reader that stops early (`cgilab routes | head -1`) closes the pipe. Rust ignores
//! SIGPIPE, so the command's next write fails with EPIPE instead of ending it, and
//! `println!` panics on that error. A command that prints then stops quietly, with
//! status 0, as `ls | head -1` does, and every value it holds (a server, a child) is
//! dropped on the way out. SIGPIPE is not restored for the whole process: a server or a
//! bench writes to sockets and pipes whose other end may go, and must see an error there.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};

/// Prints `text` on stdout; a closed pipe is no error.
pub fn print(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

/// Runs `command`, which prints with `println!`; if a print meets a closed pipe, the
/// panic that follows unwinds quietly out of it and the command has succeeded. Any
/// other panic is reported and goes on as before.
pub fn quiet_on_broken_pipe(command: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !info.payload_as_str().is_some_and(broken_pipe_message) {
            previous(info);
        }
    }));
    match panic::catch_unwind(AssertUnwindSafe(command)) {
        Ok(result) => result,
        Err(payload) if is_broken_pipe(payload.as_ref()) => Ok(()),
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// Whether a panic's payload is `println!`'s message on a closed stdout.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    message.is_some_and(broken_pipe_message)
}

/// Whether `message` is `println!`'s on a closed stdout: "failed printing to stdout:
/// Broken pipe (os error 32)".
fn broken_pipe_message(message: &str) -> bool {
    let epipe = std::io::Error::from_raw_os_error(libc::EPIPE).to_string();
    message.starts_with("failed printing to stdout") && message.contains(&epipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_print_to_a_closed_stdout_is_quiet() {
        let epipe = std::io::Error::from_raw_os_error(libc::EPIPE);
        let broken: Box<dyn std::any::Any + Send> =
            Box::new(format!("failed printing to stdout: {epipe}"));
        assert!(is_broken_pipe(broken.as_ref()));
        let other: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        assert!(!is_broken_pipe(other.as_ref()));
        assert_eq!(
            quiet_on_broken_pipe(|| Err("no".into())),
            Err("no".to_string())
        );
    }
}
