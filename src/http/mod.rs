//! The HTTP front on tiny_http: the request body, read in full ([`body`]), and the
//! response, framed and written ([`response`]).

pub mod body;
pub mod response;
