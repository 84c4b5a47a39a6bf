//! The request, independent of the host that answers it: where it goes ([`route`]), what
//! a script or app receives ([`environ`]), what a proxy it trusts says about it
//! ([`forwarded`]), every way it can fail ([`error`]), what a host made of it
//! ([`outcome`]), how a CGI response's header block reads ([`cgi_response`]), and the one
//! percent-decoder ([`percent`]).

pub mod cgi_response;
pub mod environ;
pub mod error;
pub mod forwarded;
pub mod outcome;
pub mod percent;
pub mod route;
