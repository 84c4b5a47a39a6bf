//! The floor under a pool's hop: one small message to another process over a Unix
//! socket and its echo back, with nothing else (no FastCGI records, no Python, no HTTP).
//! A pool request pays at least this on top of what the same app costs embedded: the
//! request goes to the worker and the answer comes back, and each way wakes a process.
//!
//! The other process is `cat`, with both ends of its stdin and stdout on the socket, so
//! it echoes what it reads, as soon as it reads it. Beside it, the same echo written in
//! Python (`os.read`, `os.write`): the least a Python worker can do per request, its
//! floor, since a Python process wakes and runs its loop for every message.
//!
//! ```console
//! $ cargo bench --bench hop
//! ```

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Python's echo: read what comes, write it back, until the socket closes.
const PYTHON_ECHO: &str = "import os
while True:
    data = os.read(0, 65536)
    if not data:
        break
    os.write(1, data)
";

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("hop");
    let mut peers = vec![("unix_socket_round_trip", Command::new("cat"))];
    if cgilab::process::interpreter::find(std::path::Path::new("python3")).is_some() {
        let mut python = Command::new("python3");
        python.args(["-c", PYTHON_ECHO]);
        peers.push(("python_echo_round_trip", python));
    }
    for (name, mut command) in peers {
        let (mut ours, theirs) = UnixStream::pair().expect("a socket pair");
        let out = theirs
            .try_clone()
            .expect("a second descriptor for the echo's stdout");
        let mut echo_process = command
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(out)))
            .spawn()
            .expect("the echo starts");
        for size in [64usize, 1024] {
            let message = vec![b'x'; size];
            let mut echo = vec![0u8; size];
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        ours.write_all(&message).expect("write to the echo");
                        ours.read_exact(&mut echo).expect("the echo");
                    }
                    start.elapsed()
                })
            });
        }
        drop(ours);
        let _ = echo_process.wait();
    }
    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
