//! Where a pool answers besides `/pool/NAME`: a URL prefix it is mounted at (`/`,
//! `/blog`), as gunicorn behind a proxy's `location /blog/` or mod_wsgi's
//! `WSGIScriptAlias /blog`. The prefix becomes the app's `SCRIPT_NAME` and the rest of
//! the path its `PATH_INFO` (PEP 3333, RFC 3875 §4.1.13), so the URLs it builds are the
//! public ones.

use super::Config;
use crate::request::route::{APP_PREFIX, CGI_PREFIX, Mount, POOL_PREFIX};

impl Config {
    /// Adds a mount from `PREFIX=NAME`.
    pub fn add_mount(&mut self, spec: &str) -> Result<(), String> {
        let (prefix, pool) = spec
            .rsplit_once('=')
            .ok_or_else(|| format!("--mount {spec}: expected PREFIX=NAME, e.g. --mount /=blog"))?;
        let prefix = check_prefix(prefix).map_err(|e| format!("--mount {spec}: {e}"))?;
        if let Some(other) = self.routes.mounts.iter().find(|m| m.prefix == prefix) {
            return Err(format!(
                "--mount {spec}: `{prefix}` is already pool `{}`'s; one pool per prefix",
                other.pool
            ));
        }
        self.routes.mounts.push(Mount {
            prefix,
            pool: pool.to_string(),
        });
        Ok(())
    }

    /// Refuses a mount of a pool that does not exist, or one under a prefix the server
    /// keeps for itself; orders them longest first.
    pub fn check_mounts(&mut self) -> Result<(), String> {
        for m in &self.routes.mounts {
            if !self.pools.iter().any(|p| p.name == m.pool) {
                return Err(format!(
                    "--mount {}={}: there is no pool `{}`; add it with --wsgi or --fastcgi",
                    m.prefix, m.pool, m.pool
                ));
            }
            let mut kept = vec![POOL_PREFIX];
            if self.routes.lab {
                kept.extend([CGI_PREFIX, APP_PREFIX, "/raw/"]);
            }
            let with_slash = format!("{}/", m.prefix);
            if let Some(k) = kept.iter().find(|k| with_slash.starts_with(*k)) {
                return Err(format!(
                    "--mount {}={}: `{k}` is the server's own; choose another prefix{}",
                    m.prefix,
                    m.pool,
                    if *k == POOL_PREFIX {
                        ""
                    } else {
                        " (or --no-lab)"
                    }
                ));
            }
        }
        self.routes
            .mounts
            .sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        Ok(())
    }
}

/// A mount prefix, checked and written one way: starts with `/`, no trailing `/` (but
/// `/` itself), no empty, `.` or `..` segment, nothing percent-encoded, no `?` or `#`.
pub fn check_prefix(prefix: &str) -> Result<String, String> {
    if !prefix.starts_with('/') {
        return Err(format!(
            "`{prefix}` must start with `/`, such as `/` or `/blog`"
        ));
    }
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok("/".to_string());
    }
    for segment in trimmed[1..].split('/') {
        let bad = segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment
                .bytes()
                .any(|b| b"%?#\\".contains(&b) || b.is_ascii_control() || b == b' ');
        if bad {
            return Err(format!(
                "`{prefix}` is not a plain path: use letters, digits, `-`, `_`, `.` between single slashes"
            ));
        }
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_written_one_way_and_odd_ones_are_refused() {
        assert_eq!(check_prefix("/").unwrap(), "/");
        assert_eq!(check_prefix("/blog/").unwrap(), "/blog");
        assert_eq!(check_prefix("/a/b").unwrap(), "/a/b");
        for bad in ["blog", "/a//b", "/a/../b", "/%2e", "/a?b", "/a b", "/a/./b"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
