//! What the server runs with, checked: [`Config::from_args`] turns what the user typed
//! into settings, and is where every startup error gets a message that says what to do.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::ServeArgs;
use crate::environ::Site;

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The scripts' directory, canonical.
    pub cgi_bin: PathBuf,
    /// Wall-clock limit for one script or app call.
    pub timeout: Duration,
    /// How long a client may stall mid-request or sit idle between requests.
    pub read_timeout: Duration,
    /// Largest request body accepted.
    pub max_body: u64,
    /// Most scripts running at once.
    pub max_procs: usize,
    /// Most requests answered at once.
    pub threads: usize,
    /// No access log lines.
    pub quiet: bool,
    /// What every environment is built with.
    pub site: Site,
}

/// The `PATH` scripts get when the server itself has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

impl Config {
    /// Checks the arguments of `cgilab serve`.
    pub fn from_args(args: &ServeArgs) -> Result<Config, String> {
        let listen = args
            .listen
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                format!(
                    "--listen {}: not an address to listen on; pass HOST:PORT, e.g. 127.0.0.1:8000",
                    args.listen
                )
            })?;
        let cgi_bin = args.cgi_bin.canonicalize().map_err(|_| {
            format!(
                "cgi-bin directory {} does not exist; pass --cgi-bin DIR",
                args.cgi_bin.display()
            )
        })?;
        if !cgi_bin.is_dir() {
            return Err(format!(
                "--cgi-bin {} is not a directory; pass --cgi-bin DIR",
                args.cgi_bin.display()
            ));
        }
        if args.max_procs == 0 || args.threads == 0 {
            return Err("--max-procs and --threads must be at least 1".into());
        }
        let document_root = cgi_bin.parent().unwrap_or(&cgi_bin).to_path_buf();
        let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
        let mut extra = vec![("PATH".to_string(), path)];
        for name in &args.pass_env {
            check_name(name, "--pass-env")?;
            match std::env::var(name) {
                Ok(value) => extra.push((name.clone(), value)),
                Err(_) => eprintln!(
                    "cgilab: warning: --pass-env {name}: not set in the server's environment; scripts will not get it"
                ),
            }
        }
        for pair in &args.env {
            let (name, value) = pair.split_once('=').ok_or_else(|| {
                format!("--env {pair}: expected KEY=VALUE, e.g. --env GIT_PROJECT_ROOT=/srv/git")
            })?;
            check_name(name, "--env")?;
            if value.contains('\0') {
                return Err(format!("--env {name}: the value contains a NUL byte"));
            }
            extra.push((name.to_string(), value.to_string()));
        }
        Ok(Config {
            listen,
            cgi_bin,
            timeout: args.timeout,
            read_timeout: args.read_timeout,
            max_body: args.max_body,
            max_procs: args.max_procs,
            threads: args.threads,
            quiet: args.quiet,
            site: Site {
                software: crate::response::SERVER.to_string(),
                document_root,
                extra,
            },
        })
    }
}

/// An environment variable name: letters, digits and `_`, not starting with a digit.
fn check_name(name: &str, flag: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{flag} {name}: not a variable name; use letters, digits and `_`"
        ))
    }
}
