//! Finding a script in cgi-bin, per request, so a script dropped in is live at once.
//!
//! An executable regular file runs directly (its `#!` line picks the interpreter). A file
//! that is not executable but ends in `.sh`, `.py` or `.pl` runs through sh, python3 or
//! perl, so a learner can drop a script in without `chmod`. Anything whose real path
//! leaves cgi-bin (a symlink out, say) is refused; a script's source is never served.
//!
//! Here too: the list of scripts in cgi-bin ([`list`]) and which gateway app a script is
//! the twin of ([`twin_app`], [`twins`]), for the index page and `cgilab routes`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::request::error::RequestError;

/// A script that may run.
#[derive(Debug, Clone)]
pub struct Script {
    /// Its file name in cgi-bin, as named in the URL.
    pub name: String,
    /// Its canonical path: `SCRIPT_FILENAME`.
    pub path: PathBuf,
    /// The interpreter it runs through, if it is not executable itself.
    pub interpreter: Option<&'static str>,
    /// `nph-` scripts write the whole HTTP response themselves (RFC 3875 §5).
    pub nph: bool,
}

/// The interpreter for a non-executable script, by its extension.
pub fn interpreter_for(name: &str) -> Option<&'static str> {
    crate::process::interpreter::for_extension(Path::new(name).extension()?.to_str()?, false)
}

/// Looks `name` up in `cgi_bin` (which must be canonical).
pub fn find(cgi_bin: &Path, name: &str, url_path: &str) -> Result<Script, RequestError> {
    let refuse = |why| RequestError::Forbidden {
        path: url_path.to_string(),
        why,
    };
    let candidate = cgi_bin.join(name);
    // Canonicalizing resolves every symlink, so the prefix check below sees the real file.
    let path = match candidate.canonicalize() {
        Ok(path) => path,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if candidate.symlink_metadata().is_ok() {
                return Err(refuse("a symlink that points nowhere"));
            }
            return Err(RequestError::NotFound {
                path: url_path.to_string(),
            });
        }
        Err(_) => return Err(refuse("cannot resolve the script's path")),
    };
    if path.parent() != Some(cgi_bin) {
        return Err(refuse("its real path leaves cgi-bin"));
    }
    let meta = path
        .metadata()
        .map_err(|_| refuse("cannot read the script's metadata"))?;
    if !meta.is_file() {
        return Err(refuse("not a regular file"));
    }
    let executable = meta.permissions().mode() & 0o111 != 0;
    let interpreter = if executable {
        None
    } else {
        Some(interpreter_for(name).ok_or_else(|| {
            refuse("not executable, and no interpreter is known for its extension")
        })?)
    };
    Ok(Script {
        name: name.to_string(),
        path,
        interpreter,
        nph: name.starts_with("nph-"),
    })
}

/// The scripts in cgi-bin, sorted; dotfiles left out, as the router refuses them.
pub fn list(cgi_bin: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cgi_bin)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The app a script is the twin of: its name without the extension (`hello.py` ->
/// `hello`); `None` for a name without one.
pub fn twin_app(name: &str) -> Option<&str> {
    let stem = name.rsplit_once('.').map(|(stem, _)| stem)?;
    // A WSGI twin (`hello_wsgi.py`) is the same app once more, run through wsgiref.
    Some(stem.strip_suffix("_wsgi").unwrap_or(stem))
}

/// The scripts that are twins of app `app`: `app.sh`, `app.py`, `app.pl`, ...
pub fn twins<'a>(app: &str, scripts: &'a [String]) -> Vec<&'a String> {
    scripts
        .iter()
        .filter(|s| twin_app(s) == Some(app))
        .collect()
}
