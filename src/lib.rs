//! # cgilab: from CGI to gateways, measured
//!
//! One server dispatches every request one of two ways, and shows what each costs. Follow
//! a request through the modules in the order it meets them:
//!
//! 1. [`server`] accepts connections (on `tiny_http`) and gives each request to a worker.
//! 2. [`dispatch`] checks its size, asks [`route`] where it goes, and reads its body
//!    ([`body`]).
//! 3. [`environ`] builds the RFC 3875 meta-variables, once, the same for both modes.
//! 4. Then one of two dispatchers:
//!    - [`cgi`]: find the script ([`script`]), spawn a process for it ([`child`]), feed it
//!      and read it ([`poll`]), parse its header block ([`cgi_response`]);
//!    - [`gateway`]: call an app that is already running ([`apps`] has the built-ins).
//! 5. [`response`] writes the status, headers and body; [`timing`] adds `Server-Timing`
//!    and the access log line, and [`stats`] keeps the latencies the index page
//!    ([`index`]) shows.
//!
//! [`error`] names every way a request can fail and the status each gets; [`cli`] and
//! [`config`] turn the command line into a checked configuration; [`routes`] lists what
//! the server answers.
//!
//! Measuring it: [`bench`] runs `cgilab bench`, loading twins side by side with the load
//! generator in [`load`] and timing the bare spawn of each script. Learning it:
//! [`lessons`] lists the course in `lessons/` and checks its exercises.

pub mod apps;
pub mod bench;
pub mod body;
pub mod cgi;
pub mod cgi_response;
pub mod child;
pub mod cli;
pub mod config;
pub mod dispatch;
pub mod environ;
pub mod error;
pub mod fastcgi;
pub mod gateway;
pub mod index;
pub mod lessons;
pub mod load;
pub mod poll;
pub mod pool;
pub mod response;
pub mod route;
pub mod routes;
pub mod script;
pub mod server;
pub mod stats;
pub mod timing;
