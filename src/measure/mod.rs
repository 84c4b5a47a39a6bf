//! What a request cost, made visible: its phases ([`timing`], the `Server-Timing`
//! header), its access log line ([`access_log`]; in a log tool's format,
//! [`access_format`]) and the latencies the index page shows ([`stats`]).

pub mod access_format;
pub mod access_log;
pub mod app_log;
pub mod stats;
pub mod timing;
