//! The request, independent of the host that answers it: where it goes ([`route`]), what
//! a script or app receives ([`environ`]), every way it can fail ([`error`]), and how a
//! CGI response's header block reads ([`cgi_response`]).

pub mod cgi_response;
pub mod environ;
pub mod error;
pub mod outcome;
pub mod route;
