//! The course never rots: every console block of README.md and of every lesson runs here
//! against a real server (one test per page, so one page can run and fail alone), and its output must match what the page shows; the course's
//! structure is checked; and `cgilab lessons check` is tried on right and wrong answers.
//!
//! How a page is written for this runner (lessons/README.md says the same for authors):
//!
//! - A ```` ```console ```` block holds commands, each on a line starting with `$ `, each
//!   followed by its exact output (stdout and stderr together). Commands run with `sh -c`
//!   in a scratch copy of the repository, one page after another in page order, so files a
//!   page creates stay for its later blocks.
//! - In an expected line, `[..]` matches any part of that line; a line that is only `...`
//!   matches any number of lines. What must vary is normalised on both sides: the port
//!   (the test server listens on a free port; `127.0.0.1:8000` in commands is rewritten to
//!   it, and it back to 8000 in output), timings (`dur=1.178`, `0.305ms`, `1.10 ms`,
//!   `1.0s`: a figure with a decimal point and a unit of time), `Date:` headers, client
//!   ports and `pid 1234`.
//! - `$ cgilab serve ARGS` (or `cargo run [--release] -- serve ARGS`) runs until stopped, so
//!   the runner starts (or restarts) its own server with the same ARGS on a free port, and
//!   compares the block's output with the server's first log lines. Every page starts with
//!   a server with no ARGS.
//! - In a ```` ```console timings ```` block every number is a measurement (a load test's
//!   table): every number becomes `#`, and runs of spaces and of table rules (`─`, `═`)
//!   shrink to one, so the page can show one real run and still be checked for its shape.
//! - A ```` ```log ```` block is what the server's terminal shows: each line must appear in
//!   the server's log, in order, after what the page's previous log block matched. In a
//!   ```` ```log any-order ```` block the lines may come in any order: for lines that
//!   race, such as a CGI request's access line, written once its script has exited,
//!   and the line of a request the client sent after it had the whole response. The
//!   page says so where it shows them.
//! - A block whose info string is `LANG file=PATH` is a file the learner creates: the
//!   runner writes it to PATH.
//! - A command ending in ` &` (nginx, gunicorn, a second cgilab) runs in the background
//!   until the page ends, when its process group is stopped; its block's output is
//!   compared with its first output lines, waiting for them up to 30 s (so a line saying
//!   it is ready makes the next command safe). Ports 8001-8003, 8080 to 8082 in commands
//!   get free ports of their own, rewritten like the server's.
//! - ```` ```console skip: REASON ```` is shown, not run (the server itself, cargo).
//!
//! The scratch copy holds cgi-bin/ and examples/ as git has them (so a learner's own work
//! in the checkout does not change the output), lessons/, src/, README.md, Cargo.toml, and
//! target/release/{cgilab,hello-cgi} pointing at the binaries this test was built with,
//! first on PATH. curl gets a .curlrc with `--silent --show-error`: in a terminal curl
//! shows no progress meter, but into a pipe it would.
//!
//! Modules:
//!
//! - [`support`]: the runner: blocks, matching, the scratch repository, the page's server.
//! - [`background`]: what a page starts with `&`, and the spare ports.
//! - [`pages`]: one test per page, the Chinese edition's (`README.zh.md`) too.
//! - [`editions`]: a Chinese page holds its English page's blocks, byte for byte
//!   (`UPDATE_CHINESE_BLOCKS=1` copies them over), and `cgilab lessons --lang zh`.
//! - [`course`]: the course's structure.
//! - [`figures`]: every figure in a lesson is measured there or quoted.
//! - [`runner`]: the runner's own rules.
//! - [`checks`]: `cgilab lessons check` on right and wrong answers.
//! - [`svg`]: the course's pictures parse, and draw the series their pages name.

mod background;
mod support;

mod checks;
mod course;
mod editions;
mod figures;
mod pages;
mod runner;
mod svg;
