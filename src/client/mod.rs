//! Talking to a cgilab server from outside, as a client would: start one as a process of
//! its own and wait until it listens ([`server_process`]), send requests and read the
//! responses ([`http`]), each by a deadline ([`deadline`]). `cgilab bench`, the lesson
//! checks, the benches and the tests share it.

pub mod deadline;
pub mod http;
pub mod server_process;

pub use deadline::Deadline;
pub use http::{Body, Req, Response, read_response, read_response_with, request, request_unix};
pub use server_process::ServerProcess;
