//! How much memory a process uses, as `/proc/PID/smaps_rollup` counts it (Linux 4.14 and
//! later). Three figures, because processes forked from one parent share pages:
//!
//! - RSS: every page the process has in memory, shared ones included; summed over
//!   workers, shared pages are counted once per worker.
//! - PSS: each shared page divided among the processes that share it; sums to the real
//!   total.
//! - USS: the pages only this process has (private clean + private dirty): what it would
//!   free by exiting.

/// One process's memory, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub pss_kib: u64,
    pub uss_kib: u64,
}

impl std::fmt::Display for Memory {
    /// `RSS 31.2 MiB, PSS 9.8 MiB, USS 1.3 MiB`, as the log says it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |kib: u64| kib as f64 / 1024.0;
        write!(
            f,
            "RSS {:.1} MiB, PSS {:.1} MiB, USS {:.1} MiB",
            mib(self.rss_kib),
            mib(self.pss_kib),
            mib(self.uss_kib)
        )
    }
}

/// The memory of process `pid`, if it can be read (it exists and is ours).
pub fn of(pid: u32) -> Option<Memory> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?)
}

/// Reads the `Rss:`, `Pss:` and `Private_*:` lines of an smaps_rollup.
fn parse(text: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    Some(Memory {
        rss_kib: field("Rss:")?,
        pss_kib: field("Pss:")?,
        uss_kib: field("Private_Clean:")? + field("Private_Dirty:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_pss_and_uss_come_from_the_rollup() {
        let text = "56442797e000-7ffe30b60000 ---p 00000000 00:00 0  [rollup]\n\
                    Rss:                1764 kB\nPss:                 821 kB\n\
                    Pss_Dirty:           112 kB\nShared_Clean:       1540 kB\n\
                    Private_Clean:       112 kB\nPrivate_Dirty:       100 kB\n";
        let m = parse(text).unwrap();
        assert_eq!((m.rss_kib, m.pss_kib, m.uss_kib), (1764, 821, 212));
        assert_eq!(m.to_string(), "RSS 1.7 MiB, PSS 0.8 MiB, USS 0.2 MiB");
    }

    #[test]
    fn this_process_has_memory_and_a_missing_one_has_none() {
        let m = of(std::process::id()).unwrap();
        assert!(m.rss_kib >= m.uss_kib && m.uss_kib > 0, "{m:?}");
        assert!(of(u32::MAX).is_none());
    }
}
