//! # cgilab: from CGI to gateways, measured
//!
//! One server answers every request one of three ways, and shows what each costs. The
//! folders are layers, in the order a request meets them; each imports only from the
//! layers below it.
//!
//! 1. [`cli`]: the command line. [`cli::args`] holds what the user typed (the only
//!    module that knows clap); [`cli::run`] turns it into plain values and runs `serve`,
//!    `routes`, `bench` or `lessons`.
//! 2. [`bench`](mod@bench) runs `cgilab bench`: it starts a server of its own
//!    ([`bench::own_server`]) or takes others ([`bench::target`]), loads CGI and gateway
//!    twins and other servers side by side ([`bench::load`](mod@bench::load)), times the bare spawn of each
//!    script ([`bench::floor`]), prints the report and fails a run that met errors
//!    ([`bench::report`]), and draws it ([`bench::chart`]; where each target's time went,
//!    from its `Server-Timing`: [`bench::phase_chart`]). [`timeline`] draws a pool's
//!    workers over time from a server's log; [`svg`] is what every chart shares.
//!    [`lessons`] lists the course in `lessons/` and
//!    checks its exercises. Both look at a server from outside through [`client`]: a
//!    `cgilab serve` process of their own, and one HTTP response reader.
//! 3. [`server`] listens on a TCP address, a unix socket or a socket systemd passed
//!    ([`server::listener`], [`server::systemd`]), accepts connections on tiny_http (one
//!    request of a connection at a time) and answers each on its connection's thread; [`server::dispatch`] takes it from start to finish (route, body, environ,
//!    host, access log line), and [`server::index`] renders the page at `/`.
//! 4. The hosts, one folder each. [`cgi`]: a process per request, one walk through RFC
//!    3875 (find the script with [`cgi::script`], spawn, feed stdin, read the header
//!    block, choose the status, stream the body, reap); [`cgi::watchdog`] cuts a
//!    connection whose client stops reading at the script's deadline. [`gateway`]: call an app that is
//!    already running ([`gateway::app`] is the interface, [`gateway::apps`] the built-in
//!    twins of the scripts). [`pool`]: hand the request to a worker process that stays,
//!    over FastCGI ([`fastcgi`] is the wire format and the client); its supervisor
//!    ([`pool::arbiter`]) starts, reaps, kills, recycles and reloads the workers, and
//!    `pool/wsgi_worker.py` is the Python worker cgilab ships for WSGI apps. [`embed`]
//!    (built with the feature `python`): call a WSGI app in the server's own process,
//!    with CPython embedded, on threads that hold the GIL only while Python runs.
//! 5. What every host shares below it. [`process`]: spawning into a process group and
//!    reaping, the `--max-procs` slots and their first-come-first-served queue, a
//!    child's three pipes and its exit in one `poll` loop bounded by the deadline, and
//!    the signals (INT/TERM stop; HUP/TTIN/TTOU go to subscribers), and containment: the
//!    server runs in a cgroup that a keeper process empties when it ends, each pool
//!    worker in one emptied when it is reaped ([`process::keeper`]). [`measure`]: the phases of a request (`Server-Timing`), its access
//!    log line, and the latencies the index page shows.
//! 6. [`http`]: the front on tiny_http, reading the request (its head, its size checked,
//!    its body read in full) and writing the response (status, headers, streaming).
//!    [`request`]: the request as every host sees it: where it goes ([`request::route`]),
//!    its RFC 3875 meta-variables, built once for every mode ([`request::environ`]), what
//!    a trusted proxy says about it ([`request::forwarded`]), the error enum, the outcome
//!    a host returns, and the CGI response header-block parser.
//! 7. [`config`]: what the server runs with, a plain [`config::Config`] that a program can
//!    build without the command line ([`config::pools`] checks the pool flags,
//!    [`config::app_spec`] reads how an app is named).
//! 8. [`log`](mod@log): the server's log, every line stamped with the time in RFC 3339, UTC
//!    (the `log!` macro), and the `--access-log` file that SIGUSR1 reopens.

pub mod bench;
pub mod cgi;
pub mod cli;
pub mod client;
pub mod config;
pub mod embed;
pub mod fastcgi;
pub mod gateway;
pub mod http;
pub mod lessons;
pub mod log;
pub mod measure;
pub mod pool;
pub mod process;
pub mod relay;
pub mod request;
pub mod server;
pub mod svg;
pub mod timeline;
