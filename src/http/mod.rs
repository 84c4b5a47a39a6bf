//! The HTTP front on tiny_http: reading the request ([`request`]: its head, its size
//! checked, its body read in full into [`body`]), and writing the response, framed and
//! streamed ([`response`]). [`endpoint`] names either end of a connection, over TCP or a
//! unix socket.

pub mod body;
pub mod endpoint;
pub mod request;
pub mod response;
