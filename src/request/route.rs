//! From request target to dispatcher: `/cgi-bin/NAME[/PATH_INFO]` runs a script,
//! `/app/NAME[/PATH_INFO]` calls a gateway app, `/pool/NAME[/PATH_INFO]` goes to a worker
//! of a pool, `/wsgi/NAME[/PATH_INFO]` calls an embedded Python app, `/` is the index page.
//!
//! The path is checked here, before anything runs (RFC 3875 §9.8): it is percent-decoded
//! exactly once, segment by segment, and `.`/`..` segments (raw or encoded), encoded
//! slashes, NUL bytes and dotfile names are refused.

use crate::request::error::RequestError;
use crate::request::percent;

/// Where the URL prefix for scripts ends; `SCRIPT_NAME` starts with it.
pub const CGI_PREFIX: &str = "/cgi-bin/";
/// Where the URL prefix for gateway apps ends.
pub const APP_PREFIX: &str = "/app/";
/// Where the URL prefix for worker pools ends.
pub const POOL_PREFIX: &str = "/pool/";
/// Where the URL prefix for embedded Python apps (`--embed`) ends.
pub const WSGI_PREFIX: &str = "/wsgi/";

/// What a request target asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`: the index page.
    Index,
    /// A script in cgi-bin.
    Cgi(Target),
    /// A gateway app.
    App(Target),
    /// A worker pool.
    Pool(Target),
    /// A WSGI app embedded in the server's process.
    Wsgi(Target),
    /// A file under a directory mounted with `--static`: the directory, and the decoded
    /// path below it (empty or starting with `/`).
    Static {
        dir: std::path::PathBuf,
        path: String,
    },
}

/// A script or app name and what follows it in the path.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    /// The script's file name or the app's name, decoded.
    pub name: String,
    /// The decoded rest of the path after the name: `PATH_INFO`, empty or starting with `/`.
    pub path_info: String,
    /// The URL path up to and including the name, decoded: `SCRIPT_NAME`.
    pub script_name: String,
}

/// Splits a request target into its path and its raw query (without `?`; empty if none).
pub fn split_target(target: &str) -> (&str, &str) {
    match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    }
}

/// What a server answers besides `/pool/NAME`: the lab's own routes (the index page,
/// cgi-bin, the built-in apps), unless switched off, and pools mounted at prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub lab: bool,
    /// Longest prefix first, so `/blog/admin` is found before `/blog`.
    pub mounts: Vec<Mount>,
}

/// A prefix of its own (`/`, `/blog`), as written by
/// [`crate::config::mounts::check_prefix`], and what answers there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub prefix: String,
    pub to: MountTo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountTo {
    /// A worker pool, by name.
    Pool(String),
    /// A directory of files, served as they are (`--static`).
    Dir(std::path::PathBuf),
}

impl Default for Table {
    fn default() -> Table {
        Table {
            lab: true,
            mounts: Vec::new(),
        }
    }
}

/// Makes the route for a target under a fixed prefix.
type MakeRoute = fn(Target) -> Route;

/// Chooses the dispatcher for a request target on a server with the lab's routes and no
/// mounts, refusing unsafe paths.
pub fn route(target: &str) -> Result<Route, RequestError> {
    route_in(target, &Table::default())
}

/// Chooses the dispatcher for a request target in `table`, refusing unsafe paths: the
/// fixed prefixes first, then the mounts, longest first; `/` is the index page unless a
/// pool is mounted there.
pub fn route_in(target: &str, table: &Table) -> Result<Route, RequestError> {
    let (raw_path, _) = split_target(target);
    let not_found = || RequestError::NotFound {
        path: raw_path.to_string(),
    };
    let fixed: &[(&str, MakeRoute)] = if table.lab {
        &[
            (CGI_PREFIX, Route::Cgi),
            (APP_PREFIX, Route::App),
            (POOL_PREFIX, Route::Pool),
            (WSGI_PREFIX, Route::Wsgi),
        ]
    } else {
        // The apps the server was given answer without the lab too.
        &[(POOL_PREFIX, Route::Pool), (WSGI_PREFIX, Route::Wsgi)]
    };
    let found = fixed
        .iter()
        .find_map(|&(prefix, make)| Some((prefix, raw_path.strip_prefix(prefix)?, make)));
    let Some((prefix, rest, make)) = found else {
        for m in &table.mounts {
            if let Some(rest) = under(raw_path, &m.prefix) {
                return mounted(raw_path, rest, m);
            }
        }
        if table.lab && raw_path == "/" {
            return Ok(Route::Index);
        }
        return Err(not_found());
    };

    let segments = decode_segments(raw_path, rest)?;
    let Some((name, info)) = segments.split_first() else {
        return Err(not_found());
    };
    if name.is_empty() {
        return Err(not_found());
    }
    if name.starts_with('.') {
        return Err(forbidden(raw_path, "names starting with `.` are never run"));
    }
    let path_info = info.iter().fold(String::new(), |mut acc, s| {
        acc.push('/');
        acc.push_str(s);
        acc
    });
    Ok(make(Target {
        script_name: format!("{prefix}{name}"),
        name: name.clone(),
        path_info,
    }))
}

/// What follows `prefix` in `path`, if `path` is under it: `/blog` is under `/blog` (with
/// nothing after it) and `/blog/x`, never `/blogs`; every path is under `/`.
fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix == "/" {
        return path.starts_with('/').then_some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// A request for what is mounted at `m`. For a pool, `SCRIPT_NAME` is the prefix (empty
/// for `/`), `PATH_INFO` the decoded rest (PEP 3333: together they make the whole path).
fn mounted(raw_path: &str, rest: &str, m: &Mount) -> Result<Route, RequestError> {
    let path_info = match rest.strip_prefix('/') {
        None => String::new(),
        Some(after) => {
            decode_segments(raw_path, after)?
                .iter()
                .fold(String::new(), |mut acc, s| {
                    acc.push('/');
                    acc.push_str(s);
                    acc
                })
        }
    };
    match &m.to {
        MountTo::Dir(dir) => Ok(Route::Static {
            dir: dir.clone(),
            path: path_info,
        }),
        MountTo::Pool(pool) => Ok(Route::Pool(Target {
            name: pool.clone(),
            path_info,
            script_name: if m.prefix == "/" {
                String::new()
            } else {
                m.prefix.clone()
            },
        })),
    }
}

/// Percent-decodes each `/`-separated segment once, refusing what could escape a directory.
fn decode_segments(raw_path: &str, rest: &str) -> Result<Vec<String>, RequestError> {
    let mut out = Vec::new();
    for raw in rest.split('/') {
        let bytes = percent::decode(raw).ok_or_else(|| RequestError::BadRequest {
            why: format!("malformed percent-encoding in `{raw_path}`"),
        })?;
        if bytes.contains(&b'/') {
            return Err(forbidden(raw_path, "encoded `/` in a path segment"));
        }
        if bytes.contains(&0) {
            return Err(forbidden(raw_path, "NUL byte in the path"));
        }
        if bytes == b".." || bytes == b"." {
            return Err(forbidden(raw_path, "`.` or `..` segment in the path"));
        }
        let segment = String::from_utf8(bytes).map_err(|_| RequestError::BadRequest {
            why: format!("path `{raw_path}` is not UTF-8 once decoded"),
        })?;
        out.push(segment);
    }
    Ok(out)
}

fn forbidden(path: &str, why: &'static str) -> RequestError {
    RequestError::Forbidden {
        path: path.to_string(),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cgi(name: &str, path_info: &str) -> Route {
        Route::Cgi(Target {
            name: name.into(),
            path_info: path_info.into(),
            script_name: format!("/cgi-bin/{name}"),
        })
    }

    #[test]
    fn path_info_is_the_decoded_suffix_after_the_script() {
        assert_eq!(
            route("/cgi-bin/x.sh/a%20b/c?q=1").unwrap(),
            cgi("x.sh", "/a b/c")
        );
        assert_eq!(route("/cgi-bin/x.sh").unwrap(), cgi("x.sh", ""));
        assert_eq!(route("/cgi-bin/x.sh/").unwrap(), cgi("x.sh", "/"));
    }

    #[test]
    fn dot_segments_are_refused_raw_or_encoded() {
        for t in [
            "/cgi-bin/../etc",
            "/cgi-bin/%2e%2e/x",
            "/cgi-bin/x.sh/../..",
            "/cgi-bin/.",
        ] {
            assert_eq!(route(t).unwrap_err().status(), 403, "{t}");
        }
    }

    #[test]
    fn encoded_slash_nul_and_dotfiles_are_refused() {
        for t in [
            "/cgi-bin/a%2fb",
            "/cgi-bin/a%00",
            "/cgi-bin/.htaccess",
            "/app/.x",
        ] {
            assert_eq!(route(t).unwrap_err().status(), 403, "{t}");
        }
    }

    #[test]
    fn decoding_happens_once() {
        // %252e decodes to the literal text `%2e`, which is a name, not a dot segment.
        assert_eq!(route("/cgi-bin/%252e%252e").unwrap(), cgi("%2e%2e", ""));
    }

    #[test]
    fn malformed_escapes_are_bad_requests() {
        assert_eq!(route("/cgi-bin/a%zz").unwrap_err().status(), 400);
        assert_eq!(route("/cgi-bin/a%4").unwrap_err().status(), 400);
    }

    fn mounts(lab: bool, prefixes: &[(&str, &str)]) -> Table {
        Table {
            lab,
            mounts: prefixes
                .iter()
                .map(|(p, n)| Mount {
                    prefix: p.to_string(),
                    to: MountTo::Pool(n.to_string()),
                })
                .collect(),
        }
    }

    fn pool(name: &str, script_name: &str, path_info: &str) -> Route {
        Route::Pool(Target {
            name: name.into(),
            path_info: path_info.into(),
            script_name: script_name.into(),
        })
    }

    /// PEP 3333: SCRIPT_NAME is where the app is mounted, PATH_INFO the rest; an app at
    /// the root has an empty SCRIPT_NAME.
    #[test]
    fn a_mount_splits_script_name_from_path_info() {
        let table = mounts(
            false,
            &[("/blog/admin", "admin"), ("/blog", "blog"), ("/", "site")],
        );
        let at = |t: &str| route_in(t, &table).unwrap();
        assert_eq!(at("/blog"), pool("blog", "/blog", ""));
        assert_eq!(at("/blog/"), pool("blog", "/blog", "/"));
        assert_eq!(at("/blog/a%20b?x=1"), pool("blog", "/blog", "/a b"));
        assert_eq!(
            at("/blog/admin/login"),
            pool("admin", "/blog/admin", "/login")
        );
        assert_eq!(at("/blogs"), pool("site", "", "/blogs"));
        assert_eq!(at("/"), pool("site", "", "/"));
        assert_eq!(
            at("/pool/x/y"),
            pool("x", "/pool/x", "/y"),
            "/pool/NAME stays"
        );
        assert_eq!(
            route_in("/blog/%2e%2e/x", &table).unwrap_err().status(),
            403
        );
    }

    #[test]
    fn without_the_lab_only_pools_answer() {
        let table = mounts(false, &[]);
        for t in ["/", "/cgi-bin/hello.sh", "/app/hello"] {
            assert_eq!(route_in(t, &table).unwrap_err().status(), 404, "{t}");
        }
        // With the lab, its routes come before a mount at `/`, except the index page.
        let table = mounts(true, &[("/", "site")]);
        assert_eq!(route_in("/", &table).unwrap(), pool("site", "", "/"));
        assert_eq!(route_in("/cgi-bin/x.sh", &table).unwrap(), cgi("x.sh", ""));
    }

    #[test]
    fn other_paths_are_not_found() {
        for t in ["/nope", "/cgi-bin/", "/cgi-bin", "/app/"] {
            assert_eq!(route(t).unwrap_err().status(), 404, "{t}");
        }
        assert_eq!(route("/?x").unwrap(), Route::Index);
    }
}
