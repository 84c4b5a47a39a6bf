//! The process plumbing every host shares: spawning into a process group and reaping
//! ([`child`]); the `--max-procs` slots and their queue ([`slots`]); a child's three pipes
//! and its exit in one loop ([`pipes`]) on [`poll`]; finding an interpreter
//! ([`interpreter`]); the signals: INT/TERM stop, HUP/TTIN/TTOU go to subscribers
//! ([`signals`]).

pub mod child;
pub mod interpreter;
pub mod pipes;
pub mod poll;
pub mod signals;
pub mod slots;
