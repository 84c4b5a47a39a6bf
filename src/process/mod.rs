//! The process plumbing every host shares: spawning into a process group and reaping
//! ([`child`]), and waiting on several pipes at once ([`poll`]).

pub mod child;
pub mod pipes;
pub mod poll;
