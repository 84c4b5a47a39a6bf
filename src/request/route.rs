//! From request target to dispatcher: `/cgi-bin/NAME[/PATH_INFO]` runs a script,
//! `/app/NAME[/PATH_INFO]` calls a gateway app, `/pool/NAME[/PATH_INFO]` goes to a worker
//! of a pool, `/` is the index page.
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

/// Chooses the dispatcher for a request target, refusing unsafe paths.
pub fn route(target: &str) -> Result<Route, RequestError> {
    let (raw_path, _) = split_target(target);
    let not_found = || RequestError::NotFound {
        path: raw_path.to_string(),
    };
    if raw_path == "/" {
        return Ok(Route::Index);
    }
    let (prefix, rest, make): (&str, &str, fn(Target) -> Route) =
        if let Some(rest) = raw_path.strip_prefix(CGI_PREFIX) {
            (CGI_PREFIX, rest, Route::Cgi)
        } else if let Some(rest) = raw_path.strip_prefix(APP_PREFIX) {
            (APP_PREFIX, rest, Route::App)
        } else if let Some(rest) = raw_path.strip_prefix(POOL_PREFIX) {
            (POOL_PREFIX, rest, Route::Pool)
        } else {
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

    #[test]
    fn other_paths_are_not_found() {
        for t in ["/nope", "/cgi-bin/", "/cgi-bin", "/app/"] {
            assert_eq!(route(t).unwrap_err().status(), 404, "{t}");
        }
        assert_eq!(route("/?x").unwrap(), Route::Index);
    }
}
