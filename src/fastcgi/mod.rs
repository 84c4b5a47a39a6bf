//! FastCGI (Open Market's specification, 1996), the client side: how the server hands a
//! request to a worker that stays alive and reads its CGI response back.
//!
//! [`record`] is the wire format; [`client`] speaks it over one kept connection, through
//! [`socket`]'s system calls.

pub mod client;
pub mod record;
pub mod socket;

pub use client::{ClientError, Connection, Event, Idle, Stdout};
