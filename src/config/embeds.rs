//! The WSGI apps the server embeds: `--embed NAME=FILE[:CALLABLE]`, each imported into
//! the server's own process and called at `/wsgi/NAME` (see [`crate::embed`]). Checked
//! here like a pool's `--wsgi`; on a build without the feature `python` the flag is one
//! line that says how to get it.

use std::path::PathBuf;

use super::Config;
use super::spec::{existing_file, is_identifier, split_spec};

/// One embedded app, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedConfig {
    /// The name in `/wsgi/NAME`.
    pub name: String,
    /// The Python file, canonical.
    pub file: PathBuf,
    /// The WSGI callable in it (`application` by default).
    pub callable: String,
}

/// True when this cgilab was built with embedded Python (the cargo feature `python`).
pub const BUILT: bool = cfg!(feature = "python");

/// What `--embed` says on a build without embedded Python.
pub const NOT_BUILT: &str = "this cgilab was built without embedded Python; build it with \
     `cargo build --release --features python` (it needs Python's shared library: \
     apt-get install python3-dev)";

impl Config {
    /// Adds an embedded app from `NAME=FILE[:CALLABLE]`.
    pub fn add_embed(&mut self, spec: &str) -> Result<(), String> {
        let (name, rest) = split_spec(spec, "--embed", "NAME=FILE[:CALLABLE]")?;
        if !BUILT {
            return Err(format!("--embed {spec}: {NOT_BUILT}"));
        }
        // As for --wsgi: a `:` followed by a Python name ends the file.
        let (file, callable) = match rest.rsplit_once(':') {
            Some((file, callable)) if is_identifier(callable) => (file, callable),
            _ => (rest, "application"),
        };
        let file = existing_file(file, "--embed", name)?;
        if self.embeds.iter().any(|e| e.name == name) {
            return Err(format!(
                "--embed {name}: named twice; give each --embed its own NAME"
            ));
        }
        self.embeds.push(EmbedConfig {
            name: name.to_string(),
            file,
            callable: callable.to_string(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), "").unwrap();
        let config = Config::new("127.0.0.1:0", dir.path()).unwrap();
        (dir, config)
    }

    #[cfg(feature = "python")]
    #[test]
    fn embed_takes_name_file_and_an_optional_callable() {
        let (dir, mut c) = config();
        let app = dir.path().join("app.py");
        c.add_embed(&format!("a={}", app.display())).unwrap();
        c.add_embed(&format!("b={}:make", app.display())).unwrap();
        let callables: Vec<&str> = c.embeds.iter().map(|e| e.callable.as_str()).collect();
        assert_eq!(callables, ["application", "make"]);
        let again = c.add_embed(&format!("a={}", app.display())).unwrap_err();
        assert!(again.contains("named twice"), "{again}");
        assert!(
            c.add_embed("x=nope.py")
                .unwrap_err()
                .contains("no such file")
        );
    }

    /// A build without the feature says, in one line, how to get one with it.
    #[cfg(not(feature = "python"))]
    #[test]
    fn embed_without_the_feature_says_how_to_build_it() {
        let (dir, mut c) = config();
        let e = c
            .add_embed(&format!("a={}", dir.path().join("app.py").display()))
            .unwrap_err();
        assert!(e.contains("--features python"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
