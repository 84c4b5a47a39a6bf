//! Pieces of what the user typed, checked one way for every flag: `NAME=VALUE`
//! specs, names, and files and directories that must exist.

use std::path::{Path, PathBuf};

/// `NAME=REST`, with NAME checked.
pub(super) fn split_spec<'a>(
    spec: &'a str,
    flag: &str,
    form: &str,
) -> Result<(&'a str, &'a str), String> {
    let (name, rest) = spec
        .split_once('=')
        .filter(|(_, rest)| !rest.is_empty())
        .ok_or_else(|| format!("{flag} {spec}: expected {form}, e.g. {flag} hello=app.py"))?;
    if !is_pool_name(name) {
        return Err(format!(
            "{flag} {spec}: `{name}` is not a pool name; use letters, digits, `-` and `_`"
        ));
    }
    Ok((name, rest))
}

pub(super) fn existing_file(file: &str, flag: &str, name: &str) -> Result<PathBuf, String> {
    let path = Path::new(file)
        .canonicalize()
        .map_err(|_| format!("{flag} {name}={file}: no such file; pass an existing FILE"))?;
    if !path.is_file() {
        return Err(format!("{flag} {name}={file}: not a file"));
    }
    Ok(path)
}

/// A name for `/pool/NAME`: what a URL path segment holds without encoding.
pub fn is_pool_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A directory that exists, canonical; a relative one is taken from `base`.
pub(super) fn existing_dir(dir: &Path, base: &Path, flag: &str) -> Result<PathBuf, String> {
    let shown = dir.display();
    let canonical = base.join(dir).canonicalize().map_err(|e| {
        format!(
            "{flag} {shown}: {}; pass an existing directory",
            os_reason(&e)
        )
    })?;
    if !canonical.is_dir() {
        return Err(format!("{flag} {shown}: not a directory; pass a directory"));
    }
    if flag == "--pythonpath" && canonical.to_string_lossy().contains(',') {
        return Err(format!(
            "{flag} {shown}: the path holds a `,`, which separates directories; link it \
             from a path without one"
        ));
    }
    Ok(canonical)
}

/// "no such directory", "permission denied": an I/O error as a reader wants it.
fn os_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

pub(super) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
