//! What a request cost, made visible: its phases ([`timing`], the `Server-Timing` header)
//! and the latencies the index page shows ([`stats`]).

pub mod stats;
pub mod timing;
