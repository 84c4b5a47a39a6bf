//! Memory bounded by configuration, not by what clients send.

use std::io::Write;
use std::thread;

use crate::support::Conn;
use crate::{peak_kib, rss_kib, site};

/// Sends `targets` as GETs on `conns` keep-alive connections, pipelined in batches of
/// 50, and reads every response (bounded: each read by the client's timeout).
fn load(addr: std::net::SocketAddr, targets: Vec<String>, conns: usize) {
    let per = targets.len().div_ceil(conns);
    let workers: Vec<_> = targets
        .chunks(per)
        .map(|mine| {
            let mine = mine.to_vec();
            thread::spawn(move || {
                let mut conn = Conn::open(addr);
                for batch in mine.chunks(50) {
                    let mut bytes = Vec::new();
                    for t in batch {
                        write!(bytes, "GET {t} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                    }
                    conn.send(&bytes);
                    for _ in batch {
                        conn.response();
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

/// The latency stats keep the scripts and apps that exist, not every path asked for:
/// 40,000 distinct paths (404s, and PATH_INFO under an app) leave memory flat (they
/// used to cost 330 MB with 8 KB paths, never returned).
#[test]
fn stats_keep_only_scripts_and_apps_that_exist() {
    let server = site().arg("--quiet").start();
    let pad = "p".repeat(2000);
    let warm: Vec<String> = (0..2000)
        .map(|i| format!("/app/hello/warm-{i}-{pad}"))
        .collect();
    load(server.addr(), warm, 4);
    let before = rss_kib(server.pid());
    let targets: Vec<String> = (0..40_000)
        .map(|i| match i % 3 {
            0 => format!("/cgi-bin/missing-{i}-{pad}"),
            1 => format!("/app/hello/{i}-{pad}"),
            _ => format!("/app/none-{i}-{pad}"),
        })
        .collect();
    load(server.addr(), targets, 4);
    let grown = rss_kib(server.pid()).saturating_sub(before);
    eprintln!("40,000 distinct paths: RSS grew by {grown} KiB");
    assert!(grown < 10 * 1024, "RSS grew by {grown} KiB");
    let page = server.get("/").text();
    assert!(
        !page.contains("missing-"),
        "the index page lists a path never served"
    );
}

/// The built-in form app parses a form as it reads it: a 16 MiB form of four million
/// tiny fields costs a bounded amount of memory (it used to cost 500 MB).
#[test]
fn a_16_mib_form_is_parsed_in_bounded_memory() {
    let server = site().start();
    let before = peak_kib(server.pid());
    let body = "a=1&".repeat(4 << 20);
    let mut conn = server.connect();
    let res = conn.request(
        "POST",
        "/app/form",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(res.status, 200);
    assert_eq!(
        res.text().lines().filter(|l| *l == "form a=1").count(),
        4 << 20
    );
    let grown = peak_kib(server.pid()).saturating_sub(before);
    eprintln!("a 16 MiB form: peak RSS grew by {grown} KiB");
    assert!(grown < 160 * 1024, "peak RSS grew by {grown} KiB");
}
