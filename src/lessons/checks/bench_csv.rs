//! Lesson 8 (Head to head): the check of its exercise.

use super::*;

pub(super) fn bench_csv(c: &mut Check) -> Result<(), Failure> {
    let how = "save a run: cgilab bench --cgi-bin cgi-bin --targets /cgi-bin/hello.pl,/app/hello --concurrency 1,8 --format csv > bench.csv (it starts a server of its own on your cgi-bin; with --url http://127.0.0.1:8000 it loads your running one)";
    let Ok(text) = std::fs::read_to_string(c.opts.workdir.join("bench.csv")) else {
        return Err(fail("bench.csv does not exist", how));
    };
    let mut lines = text.lines();
    let columns: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(target), Some(conc), Some(requests), Some(mean), Some(rate), Some(errors)) = (
        col("target"),
        col("concurrency"),
        col("requests"),
        col("mean_ms"),
        col("req_per_s"),
        col("errors"),
    ) else {
        return Err(fail(
            "bench.csv is not the output of `cgilab bench --format csv`",
            how,
        ));
    };
    // An older bench wrote no `unexpected` column, and counted error statuses as errors.
    let unexpected = col("unexpected");
    // (target, concurrency, requests, mean ms, requests per second, failed requests)
    let rows: Vec<(String, usize, u64, f64, f64, u64)> = lines
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .filter_map(|f| {
            let failed = f.get(errors)?.parse::<u64>().ok()?
                + unexpected.map_or(Some(0), |i| f.get(i)?.parse().ok())?;
            Some((
                f.get(target)?.to_string(),
                f.get(conc)?.parse().ok()?,
                f.get(requests)?.parse().ok()?,
                f.get(mean)?.parse().ok()?,
                f.get(rate)?.parse().ok()?,
                failed,
            ))
        })
        .collect();
    c.pass(format!(
        "bench.csv holds {} runs of cgilab bench",
        rows.len()
    ));
    // The concurrencies a target ran at, each once: two runs at one concurrency (two
    // files put together) are not two concurrencies.
    let at = |t: &str| -> Vec<usize> {
        let mut v: Vec<usize> = rows.iter().filter(|r| r.0 == t).map(|r| r.1).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let gateway = at("/app/hello");
    let script = rows
        .iter()
        .map(|r| r.0.as_str())
        .find(|t| t.starts_with("/cgi-bin/") && at(t).len() >= 2 && at(t) == gateway);
    let Some(script) = script else {
        return Err(fail(
            "bench.csv needs a /cgi-bin/ script and /app/hello, both at the same two or more concurrencies",
            how,
        ));
    };
    if let Some(r) = rows.iter().find(|r| r.5 > 0) {
        return Err(fail(
            format!(
                "{} at concurrency {} answered {} requests with errors: its times are the failures'",
                r.0, r.1, r.5
            ),
            "the bench printed why (`bench: ...` lines): a 404 means its server has no such script; pass --cgi-bin cgi-bin, or --url for your running server, and bench again",
        ));
    }
    if let Some(r) = rows.iter().find(|r| r.2 == 0) {
        return Err(fail(
            format!("{} at concurrency {} answered no request", r.0, r.1),
            "with --url, was that server running? And does the script answer 200? bench again",
        ));
    }
    let row = |t: &str, n: usize| rows.iter().find(|r| r.0 == t && r.1 == n).expect("listed");
    for n in &gateway {
        let (s, g) = (row(script, *n), row("/app/hello", *n));
        c.pass(format!(
            "at concurrency {n}: {script} {:.2} ms a request, /app/hello {:.2} ms; the gateway answers {:.0}x as many per second",
            s.3,
            g.3,
            g.4 / s.4.max(1e-9)
        ));
    }
    Ok(())
}
