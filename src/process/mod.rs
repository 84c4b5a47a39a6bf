//! The process plumbing every host shares: spawning into a process group and reaping
//! ([`child`]); the `--max-procs` slots and their queue ([`slots`]); a child's three pipes
//! and its exit in one loop ([`pipes`]) on [`poll`]; finding an interpreter
//! ([`interpreter`]); the signals, handed to the server on a thread of their own
//! ([`signals`]); a process's memory, shared and its own ([`memory`]). Nothing the server starts outlives it: it runs in a cgroup ([`cgroup`])
//! that a keeper process empties when it ends ([`keeper`]); its temp directories say
//! whose they are ([`private_dir`]).

pub mod cgroup;
pub mod child;
pub mod interpreter;
pub mod keeper;
pub mod memory;
pub mod pipes;
pub mod poll;
pub mod private_dir;
pub mod seqpacket;
pub mod signals;
pub mod slots;
