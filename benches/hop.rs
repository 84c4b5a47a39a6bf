//! The floor under a pool's hop: one small message to another process over a Unix
//! socket and its echo back, with nothing else (no FastCGI records, no Python, no HTTP).
//! A pool request pays at least this on top of what the same app costs embedded: the
//! request goes to the worker and the answer comes back, and each way wakes a process.
//!
//! The other process is `cat`, with both ends of its stdin and stdout on the socket, so
//! it echoes what it reads, as soon as it reads it.
//!
//! ```console
//! $ cargo bench --bench hop
//! ```

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn round_trip(c: &mut Criterion) {
    let (mut ours, theirs) = UnixStream::pair().expect("a socket pair");
    let out = theirs
        .try_clone()
        .expect("a second descriptor for cat's stdout");
    let mut cat = Command::new("cat")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(out)))
        .spawn()
        .expect("cat starts");
    let mut group = c.benchmark_group("hop");
    for size in [64usize, 1024] {
        let message = vec![b'x'; size];
        let mut echo = vec![0u8; size];
        group.bench_function(BenchmarkId::new("unix_socket_round_trip", size), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    ours.write_all(&message).expect("write to cat");
                    ours.read_exact(&mut echo).expect("cat's echo");
                }
                start.elapsed()
            })
        });
    }
    group.finish();
    drop(ours);
    let _ = cat.wait();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
