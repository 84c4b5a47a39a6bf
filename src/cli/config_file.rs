//! `serve --config FILE` and `check-config FILE`: the file's top-level keys become the
//! flags they stand for, placed before the ones typed (a flag given twice takes its last
//! value, so what is typed wins); its `[pool.NAME]` sections become pools with settings
//! of their own.

use std::ffi::OsString;
use std::path::Path;

use clap::Parser;

use crate::config::Config;
use crate::config::file::{self, AppSpec, ConfigFile};

use super::args::{Cli, Command};

/// `cli` again, with the flags of its `--config` file in front of the typed ones (`argv`
/// is the command line as typed). The file's errors come back one per line.
pub fn expand(cli: Cli, argv: Vec<OsString>) -> Result<Cli, String> {
    let Command::Serve(args) = &cli.command else {
        return Ok(cli);
    };
    let Some(path) = &args.config else {
        return Ok(cli);
    };
    let file = file::read(path).map_err(|errors| lines(path, &errors))?;
    let at = argv.iter().position(|a| a == "serve").unwrap_or(1);
    let mut full: Vec<OsString> = argv[..=at].to_vec();
    full.extend(
        file.flags
            .iter()
            .flat_map(|(_, f)| f.iter().map(OsString::from)),
    );
    full.extend(argv[at + 1..].iter().cloned());
    Cli::try_parse_from(full).map_err(|e| format!("{}: {}", path.display(), first_line(&e)))
}

/// `check-config FILE`: every error with its line, or what the file sets up.
pub fn check(path: &Path) -> Result<(), String> {
    let (file, mut errors) = file::read_all(path);
    // Each key alone, through the flag it stands for: the line of a bad value is known.
    for (line, flags) in &file.flags {
        let argv = ["cgilab", "serve"].into_iter().map(String::from);
        if let Err(e) = Cli::try_parse_from(argv.chain(flags.iter().cloned())) {
            let key = flags.first().and_then(|f| file::key_of(f)).unwrap_or("?");
            errors.push((*line, format!("`{key}`: {}", first_line(&e))));
        }
    }
    if !errors.is_empty() {
        errors.sort();
        return Err(lines(path, &errors));
    }
    // Then the whole, as `serve` would build it: an error names its flag or its pool.
    let argv = ["cgilab", "serve", "--config"].map(OsString::from);
    let full: Vec<OsString> = argv.into_iter().chain([path.into()]).collect();
    let cli = expand(
        Cli::try_parse_from(&full).map_err(|e| first_line(&e))?,
        full,
    )?;
    let Command::Serve(args) = cli.command else {
        unreachable!("a serve command line");
    };
    let config = super::serve_config(&args).map_err(|e| lines(path, &[(line_of(&file, &e), e)]))?;
    let names: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
    println!(
        "{}: ok: listens on {}, lab routes {}, {} pools{}{}",
        path.display(),
        config.listen,
        if config.routes.lab { "on" } else { "off" },
        names.len(),
        if names.is_empty() { "" } else { ": " },
        names.join(", ")
    );
    Ok(())
}

/// Adds the file's pools to `config`, each with its own settings and mount.
pub fn add_pools(config: &mut Config, file: &ConfigFile) -> Result<(), String> {
    for section in &file.pools {
        let name = &section.name;
        let added = match &section.app {
            AppSpec::Wsgi(spec) => config.add_wsgi(&format!("{name}={spec}")),
            AppSpec::FastCgi(spec) => config.add_fastcgi(&format!("{name}={spec}")),
        };
        added.map_err(|e| format!("[pool.{name}]: {e}"))?;
        for (key, value) in &section.env {
            config.add_pool_env(&format!("{name}:{key}={value}"))?;
        }
        if let Some(pool) = config.pools.iter_mut().find(|p| &p.name == name) {
            pool.own = section.own.clone();
            if let Some(dir) = &section.chdir {
                if !dir.is_dir() {
                    return Err(format!(
                        "[pool.{name}] chdir {}: not a directory; give one that exists",
                        dir.display()
                    ));
                }
                pool.chdir = dir.clone();
            }
            if !section.pythonpath.is_empty() {
                pool.pythonpath = section.pythonpath.clone();
            }
        }
        if let Some(prefix) = &section.mount {
            config.add_mount(&format!("{prefix}={name}"))?;
        }
    }
    Ok(())
}

/// The line an error of the whole file belongs to: its flag's key, or its pool's section.
fn line_of(file: &ConfigFile, error: &str) -> usize {
    let flag = error.split([' ', '=', ':']).next().unwrap_or("");
    if let Some(key) = file::key_of(flag) {
        let wanted = file::flag_of(key).unwrap_or_default();
        if let Some((line, _)) = file
            .flags
            .iter()
            .find(|(_, f)| f.first().is_some_and(|f| f == wanted))
        {
            return *line;
        }
    }
    file.pools
        .iter()
        .find(|p| {
            error.contains(&format!("[pool.{}]", p.name))
                || error.contains(&format!("`{}`", p.name))
        })
        .map_or(0, |p| p.line)
}

/// `FILE:LINE: message`, one per line (`FILE: message` for line 0), for `cgilab: error: `
/// to go in front of each.
fn lines(path: &Path, errors: &[(usize, String)]) -> String {
    errors
        .iter()
        .map(|(line, e)| match line {
            0 => format!("{}: {e}", path.display()),
            n => format!("{}:{n}: {e}", path.display()),
        })
        .collect::<Vec<_>>()
        .join("\ncgilab: error: ")
}

/// A clap error's first line, without its `error: `.
fn first_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
