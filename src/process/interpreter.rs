//! Which interpreter runs a file that is not executable itself, and finding a program on
//! the server's `PATH`: the one table and the one search that CGI, the pools and the bench
//! share.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The interpreter for a file that is not executable, by its extension. `.php` only as
/// a FastCGI pool (`php-cgi` serving FastCGI): run as a CGI script, php-cgi refuses to
/// work without a web server's internal redirect (`cgi.force_redirect`).
pub fn for_extension(ext: &str, fastcgi: bool) -> Option<&'static str> {
    match ext {
        "sh" => Some("sh"),
        "py" => Some("python3"),
        "pl" => Some("perl"),
        "php" if fastcgi => Some("php-cgi"),
        _ => None,
    }
}

/// `program` if it is a path to an executable file, else the first executable of that
/// name in a directory of `PATH`.
pub fn find(program: &Path) -> Option<PathBuf> {
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 {
        return executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// Where an interpreter lives, found once on the server's `PATH`.
///
/// Spawning by bare name (`sh`) makes std search `PATH` itself: an `execve` per
/// directory until one succeeds, and a plain `fork` instead of the cheap `vfork`-style
/// spawn it uses for an absolute path. Measured: 3.0 ms instead of 1.2 ms per request
/// for a hello in sh. If it is not found, the bare name is returned, and the spawn
/// fails with a clear error.
pub fn interpreter_path(interpreter: &'static str) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static FOUND: OnceLock<Mutex<HashMap<&'static str, PathBuf>>> = OnceLock::new();
    let mut found = FOUND
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    found
        .entry(interpreter)
        .or_insert_with(|| find(Path::new(interpreter)).unwrap_or_else(|| interpreter.into()))
        .clone()
}
