//! How a WSGI app is named, on the command line (`--wsgi NAME=SPEC`) and in a config
//! file: `FILE[:CALLABLE]`, as cgilab always took it, or `MODULE[:CALLABLE]`, gunicorn's
//! APP_MODULE (its `util.import_app`), CALLABLE being a name or a factory call with
//! literal arguments. Only the form is checked here; the worker imports the app and reads
//! the arguments with Python's own `ast` (`src/pool/wsgi_worker.py`), so a spec that is
//! wrong on its face is a command-line error and one that fails in Python is the pool's
//! boot failure, with the worker's last line as the reason.

use std::path::{Path, PathBuf};

/// Where a WSGI app's code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsgiSource {
    /// A Python file, imported by its path (canonical).
    File(PathBuf),
    /// A module imported by name from the pool's `sys.path`, as gunicorn's: `mysite.wsgi`,
    /// `flaskr` (a package; its relative imports work, as they do under gunicorn).
    Module(String),
}

/// The callable a WSGI app is looked up as when the spec names none (PEP 3333's and
/// gunicorn's default).
pub const DEFAULT_CALLABLE: &str = "application";

/// Reads a WSGI app as `--wsgi` and a config file give it: `FILE[:CALLABLE]` or
/// `MODULE[:CALLABLE]`, CALLABLE being a name or a factory call (`create_app()`).
///
/// A spec whose part before the first `:` holds a `/` or ends in `.py` is a file
/// (write `./app.wsgi` for a file with another ending); anything else is a module.
/// A file's CALLABLE follows the last `:` that is followed by a name or a call, so a
/// file name may hold a `:`; a module's follows the first `:`, as in gunicorn. A
/// relative FILE is taken from the server's working directory. The error says what
/// is wrong, without the flag (the caller adds it).
pub fn parse(spec: &str) -> Result<(WsgiSource, String), String> {
    if spec.ends_with(':') {
        return Err("nothing follows the `:`; name the callable, or leave the `:` out".into());
    }
    let head = spec.split(':').next().unwrap_or_default();
    if head.contains('/') || head.ends_with(".py") {
        let (file, callable) = spec
            .rmatch_indices(':')
            .map(|(i, _)| (&spec[..i], &spec[i + 1..]))
            .find(|(_, callable)| is_app_expression(callable))
            .unwrap_or((spec, DEFAULT_CALLABLE));
        let file = Path::new(file).canonicalize().map_err(|_| {
            format!("no such file `{file}`; pass an existing FILE, or a MODULE to import")
        })?;
        if !file.is_file() {
            return Err(format!("`{}` is not a file", file.display()));
        }
        return Ok((WsgiSource::File(file), callable.to_string()));
    }
    let (module, callable) = spec.split_once(':').unwrap_or((spec, DEFAULT_CALLABLE));
    if !module.split('.').all(is_identifier) {
        return Err(format!(
            "`{module}` is neither a module name (mysite.wsgi) nor a file (a path with                  `/` or ending in .py, e.g. ./{module})"
        ));
    }
    if !is_app_expression(callable) {
        return Err(format!(
            "`{callable}` is not a callable's name or a factory call; write                  {module}:application or {module}:create_app()"
        ));
    }
    Ok((
        WsgiSource::Module(module.to_string()),
        callable.trim().to_string(),
    ))
}

/// A Python identifier: a letter or `_`, then letters, digits or `_` (any script, as
/// Python 3 allows).
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_numeric())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// What may follow the `:`: a name, or a call of a name (`create_app(...)`). Whether
/// the arguments are literals is Python's to say, with `ast`, as gunicorn does.
fn is_app_expression(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('(') {
        Some((name, _)) => is_identifier(name.trim_end()) && s.ends_with(')'),
        None => is_identifier(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `--wsgi` made of `spec`: (file or module, callable).
    fn read(spec: &str) -> Result<(String, String), String> {
        match parse(spec)? {
            (WsgiSource::File(f), callable) => Ok((
                format!("file {}", f.file_name().unwrap().display()),
                callable,
            )),
            (WsgiSource::Module(m), callable) => Ok((format!("module {m}"), callable)),
        }
    }

    #[test]
    fn a_spec_with_a_slash_or_ending_in_py_is_a_file_and_anything_else_a_module() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), "").unwrap();
        std::fs::write(dir.path().join("a:b.py"), "").unwrap();
        let app = dir.path().join("app.py").display().to_string();
        let pair = |a: &str, b: &str| Ok((a.to_string(), b.to_string()));
        assert_eq!(
            read("mysite.wsgi"),
            pair("module mysite.wsgi", "application")
        );
        assert_eq!(
            read("flaskr:create_app()"),
            pair("module flaskr", "create_app()")
        );
        assert_eq!(
            read("f:make('a:b', x={'k': 1})"),
            pair("module f", "make('a:b', x={'k': 1})")
        );
        assert_eq!(read(&app), pair("file app.py", "application"));
        assert_eq!(
            read(&format!("{app}:make('a:b')")),
            pair("file app.py", "make('a:b')")
        );
        let odd = dir.path().join("a:b.py").display().to_string();
        assert_eq!(read(&odd), pair("file a:b.py", "application"));
        assert!(read("nope.py").unwrap_err().contains("no such file"));
        assert!(read("my-site.wsgi").unwrap_err().contains("./my-site.wsgi"));
        assert!(read("m:").unwrap_err().contains("nothing follows"));
        assert!(read("m:a.b").unwrap_err().contains("factory call"));
        assert!(read("m:f(").unwrap_err().contains("factory call"));
    }
}
