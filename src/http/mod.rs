//! The HTTP front on tiny_http: reading the request ([`request`]: its head, its size
//! checked, its body read in full into [`body`]), and writing the response, framed and
//! streamed ([`response`]).

pub mod body;
pub mod request;
pub mod response;
