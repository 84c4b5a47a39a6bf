//! Where a pool answers besides `/pool/NAME`: a URL prefix it is mounted at (`/`,
//! `/blog`), as gunicorn behind a proxy's `location /blog/` or mod_wsgi's
//! `WSGIScriptAlias /blog`. The prefix becomes the app's `SCRIPT_NAME` and the rest of
//! the path its `PATH_INFO` (PEP 3333, RFC 3875 §4.1.13), so the URLs it builds are the
//! public ones.

use super::Config;
use crate::request::route::{APP_PREFIX, CGI_PREFIX, Mount, MountTo, POOL_PREFIX};

impl Config {
    /// Adds a pool's mount from `PREFIX=NAME`.
    pub fn add_mount(&mut self, spec: &str) -> Result<(), String> {
        let (prefix, pool) = spec
            .rsplit_once('=')
            .ok_or_else(|| format!("--mount {spec}: expected PREFIX=NAME, e.g. --mount /=blog"))?;
        let prefix = check_prefix(prefix).map_err(|e| format!("--mount {spec}: {e}"))?;
        self.push_mount("--mount", spec, prefix, MountTo::Pool(pool.to_string()))
    }

    /// Adds a directory of files from `PREFIX=DIR` (`--static`).
    pub fn add_static(&mut self, spec: &str) -> Result<(), String> {
        let (prefix, dir) = spec.split_once('=').ok_or_else(|| {
            format!("--static {spec}: expected PREFIX=DIR, e.g. --static /static=./static")
        })?;
        let prefix = check_prefix(prefix).map_err(|e| format!("--static {spec}: {e}"))?;
        let dir = std::path::Path::new(dir)
            .canonicalize()
            .ok()
            .filter(|d| d.is_dir())
            .ok_or_else(|| {
                format!("--static {spec}: `{dir}` is not a directory; give one that exists")
            })?;
        self.push_mount("--static", spec, prefix, MountTo::Dir(dir))
    }

    fn push_mount(
        &mut self,
        flag: &str,
        spec: &str,
        prefix: String,
        to: MountTo,
    ) -> Result<(), String> {
        if self.routes.mounts.iter().any(|m| m.prefix == prefix) {
            return Err(format!(
                "{flag} {spec}: `{prefix}` is mounted twice; one pool or directory per prefix"
            ));
        }
        self.routes.mounts.push(Mount { prefix, to });
        Ok(())
    }

    /// Refuses a mount of a pool that does not exist, or one under a prefix the server
    /// keeps for itself; orders them longest first.
    pub fn check_mounts(&mut self) -> Result<(), String> {
        for m in &self.routes.mounts {
            let (flag, what) = match &m.to {
                MountTo::Pool(pool) => ("--mount", pool.clone()),
                MountTo::Dir(dir) => ("--static", dir.display().to_string()),
            };
            if let MountTo::Pool(pool) = &m.to
                && !self.pools.iter().any(|p| &p.name == pool)
            {
                return Err(format!(
                    "--mount {}={pool}: there is no pool `{pool}`; add it with --wsgi or --fastcgi",
                    m.prefix
                ));
            }
            let mut kept = vec![POOL_PREFIX];
            if self.routes.lab {
                kept.extend([CGI_PREFIX, APP_PREFIX, "/raw/"]);
            }
            let with_slash = format!("{}/", m.prefix);
            if let Some(k) = kept.iter().find(|k| with_slash.starts_with(*k)) {
                return Err(format!(
                    "{flag} {}={what}: `{k}` is the server's own; choose another prefix{}",
                    m.prefix,
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
