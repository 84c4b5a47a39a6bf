//! What the benches share: a temporary cgi-bin with the hello twins, the compiled
//! hello-cgi and two bench-only scripts; a quiet configuration around it; the gateway
//! twins of those scripts; and a keep-alive HTTP/1.1 client around the library's
//! response reader.

// Each bench uses a part of this module.
#![allow(dead_code)]

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cgilab::config::Config;
use cgilab::gateway::{AppBody, AppRequest, AppResponse, Apps};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use tempfile::TempDir;

/// The binary's allocator (see Cargo.toml): a bench measures what the binary runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The compiled CGI hello, built by cargo for the benches of this package.
pub const HELLO_CGI: &str = env!("CARGO_BIN_EXE_hello-cgi");

/// The full output of every hello variant: header block, blank line, body.
pub const HELLO_OUTPUT: &[u8] = b"Content-Type: text/plain\n\nHello, world!\n";
/// The body every hello variant answers with.
pub const HELLO_BODY: &[u8] = b"Hello, world!\n";

/// The hello scripts copied from the repository's cgi-bin.
pub const HELLO_SCRIPTS: [&str; 3] = ["hello.sh", "hello.pl", "hello.py"];

/// A CGI echo: the request body back, as `cat` gives it.
const ECHO_SH: &str = "#!/bin/sh
# echo.sh: the request body back, unchanged.
printf 'Content-Type: application/octet-stream\\n\\n'
exec cat
";

/// A CGI source of N zero bytes, N from `?n=N`.
const ZEROS_SH: &str = "#!/bin/sh
# zeros.sh: ?n=N answers with N zero bytes.
printf 'Content-Type: application/octet-stream\\n\\n'
exec head -c \"${QUERY_STRING#n=}\" /dev/zero
";

/// Largest `?n=` the zeros app accepts.
const ZEROS_MAX: usize = 16 << 20;
/// The piece size of the zeros app's stream: the size of the CGI host's reads.
const ZEROS_PIECE: usize = 16 * 1024;

/// A temporary cgi-bin, removed when dropped. Copies, not symlinks: a symlink out of
/// cgi-bin is refused.
pub struct CgiBin {
    _dir: TempDir,
    /// Its canonical path, as `Config::cgi_bin` holds it.
    pub path: PathBuf,
}

/// Makes the temporary cgi-bin: hello.sh, hello.pl, hello.py, hello-cgi, echo.sh and
/// zeros.sh.
pub fn cgi_bin() -> CgiBin {
    let dir = tempfile::Builder::new()
        .prefix("cgilab-bench-")
        .tempdir()
        .expect("a temporary directory");
    let path = dir.path().canonicalize().expect("a canonical temp path");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin");
    for name in HELLO_SCRIPTS {
        std::fs::copy(repo.join(name), path.join(name)).expect("copy a hello script");
    }
    std::fs::copy(HELLO_CGI, path.join("hello-cgi")).expect("copy hello-cgi");
    write_script(&path.join("echo.sh"), ECHO_SH);
    write_script(&path.join("zeros.sh"), ZEROS_SH);
    CgiBin { _dir: dir, path }
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a bench script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("make a bench script executable");
}

/// A quiet configuration serving `cgi_bin` on a free loopback port.
pub fn config(cgi_bin: &Path) -> Config {
    let mut config = Config::new("127.0.0.1:0", cgi_bin).expect("a valid bench configuration");
    config.threads = 4;
    // Longer than criterion's pauses between benchmarks on one connection.
    config.read_timeout = Duration::from_secs(120);
    config.quiet = true;
    config
}

/// The built-in apps plus the twins of echo.sh and zeros.sh.
pub fn apps() -> Apps {
    Apps::builtin().with("echo", echo).with("zeros", zeros)
}

/// Twin of echo.sh.
pub fn echo(req: AppRequest<'_>) -> AppResponse {
    let mut body = Vec::new();
    let _ = req.input.read_to_end(&mut body);
    AppResponse::new(200, "application/octet-stream", body)
}

/// Twin of zeros.sh, streamed in pieces the size of the CGI host's reads.
pub fn zeros(req: AppRequest<'_>) -> AppResponse {
    let mut left: usize = req
        .environ
        .get("QUERY_STRING")
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(ZEROS_MAX);
    let pieces = std::iter::from_fn(move || {
        (left > 0).then(|| {
            let n = left.min(ZEROS_PIECE);
            left -= n;
            vec![0u8; n]
        })
    });
    AppResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/octet-stream".into())],
        body: AppBody::Stream(Box::new(pieces)),
    }
}

/// Sizes of request and response bodies: 0 B, 1 KiB, 64 KiB, 1 MiB.
pub const SIZES: [usize; 4] = [0, 1 << 10, 64 << 10, 1 << 20];

/// A keep-alive HTTP/1.1 client on one loopback connection, reconnecting when the server
/// closes it. Enough HTTP for the benches: GET, `Content-Length` or chunked bodies.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    /// The body of the last response.
    pub body: Vec<u8>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        assert!(addr.ip().is_loopback(), "the benches talk to loopback only");
        Client {
            addr,
            conn: None,
            body: Vec::new(),
        }
    }

    /// GETs `path`, panicking unless the answer is 200; the body is in `self.body`.
    pub fn get(&mut self, path: &str) -> &[u8] {
        let reused = self.conn.is_some();
        let status = match self.exchange(path) {
            Ok(status) => status,
            // A kept-alive connection the server closed meanwhile: one fresh try.
            Err(_) if reused => {
                self.conn = None;
                self.exchange(path)
                    .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            }
            Err(e) => panic!("GET {path}: {e}"),
        };
        assert_eq!(status, 200, "GET {path}");
        &self.body
    }

    fn exchange(&mut self, path: &str) -> io::Result<u16> {
        if self.conn.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            stream.set_write_timeout(Some(Duration::from_secs(30)))?;
            self.conn = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        let result = self.round_trip(path);
        if !matches!(result, Ok((_, true))) {
            self.conn = None;
        }
        result.map(|(status, _)| status)
    }

    /// One request and its response, read by the library's response reader; also says
    /// whether the connection stays open.
    fn round_trip(&mut self, path: &str) -> io::Result<(u16, bool)> {
        let conn = self.conn.as_mut().expect("connected above");
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        conn.get_mut().write_all(request.as_bytes())?;
        let response = cgilab::client::read_response(conn, false)?;
        self.body = response.body;
        Ok((response.status, response.keep_alive))
    }
}

/// A group of flat samples (every request here takes from tens of microseconds to
/// milliseconds): `samples` of them over `secs` seconds, after a one-second warm-up.
pub fn flat_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    samples: usize,
    secs: u64,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(samples)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(secs));
    group
}
