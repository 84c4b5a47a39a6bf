//! `cgilab timeline LOG --svg FILE`: a pool's workers over time, read back from the
//! server's log, so a reload can be seen rather than read: one row per worker, from its
//! start to its exit, the old generation above the new, each `SIGHUP` marked.
//!
//! The log already says all of it, one line per event, each with its time
//! ([`crate::log`]); [`events`] reads those lines back and [`chart`] draws them.

pub mod chart;
pub mod events;

use std::path::Path;

/// Runs `cgilab timeline`: reads `log`, draws it into `svg`, and says what it found.
pub fn run(log: &Path, svg: &Path) -> Result<(), String> {
    let file = std::fs::File::open(log)
        .map_err(|e| format!("{}: cannot read the log: {e}", log.display()))?;
    let timeline = events::read(std::io::BufReader::new(file))
        .map_err(|e| format!("{}: cannot read the log: {e}", log.display()))?;
    if timeline.workers.is_empty() {
        return Err(format!(
            "{}: no worker lines (`pool NAME: worker PID started ...`); give the log of a `cgilab serve` with a pool, e.g. `cgilab serve ... 2> server.log`",
            log.display()
        ));
    }
    std::fs::write(svg, chart::svg(&timeline))
        .map_err(|e| format!("--svg {}: cannot write it: {e}", svg.display()))?;
    for pool in timeline.pools() {
        let workers = timeline.workers.iter().filter(|w| w.pool == pool);
        let generations = workers.clone().map(|w| w.generation).max().unwrap_or(0) + 1;
        let reloads = timeline
            .marks
            .iter()
            .filter(|m| m.pool == pool && m.signal == events::Signal::Hup)
            .count();
        println!(
            "pool {pool}: {} workers in {generations} generation{}, {reloads} reload{}",
            workers.count(),
            if generations == 1 { "" } else { "s" },
            if reloads == 1 { "" } else { "s" },
        );
    }
    println!("drawn in {}", svg.display());
    Ok(())
}
