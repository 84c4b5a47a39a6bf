//! The process plumbing every host shares: spawning into a process group, reaping and
//! the `--max-procs` slots ([`child`]); a child's three pipes in one loop ([`pipes`]) on
//! [`poll`]; finding an interpreter ([`interpreter`]); the signal thread ([`signals`]).

pub mod child;
pub mod interpreter;
pub mod pipes;
pub mod poll;
pub mod signals;
