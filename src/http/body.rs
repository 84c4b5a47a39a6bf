//! The request body, read in full before the script starts.
//!
//! RFC 3875 §4.2 asks the server to give a script a body of known length: a chunked
//! request body must be de-chunked and counted so `CONTENT_LENGTH` can be set. Reading it
//! first also means a slow client never holds a process, and an oversized body is refused
//! (413) before anything runs; this is the buffering nginx does in front of app servers.
//! Small bodies stay in memory; larger ones go to an unnamed temporary file.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, Write};

/// Bodies up to this size are kept in memory.
const MEMORY_LIMIT: usize = 64 * 1024;

/// A fully read request body.
#[derive(Debug)]
pub enum Body {
    /// Small bodies.
    Memory(Vec<u8>),
    /// Bodies over [`MEMORY_LIMIT`], in a temporary file that is gone once closed.
    File(File, u64),
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// More than the limit arrived.
    TooLarge,
    /// The client or the disk failed.
    Io(io::Error),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body::Memory(Vec::new())
    }

    /// Reads `source` to its end, refusing more than `limit` bytes.
    pub fn read_from(source: &mut dyn Read, limit: u64) -> Result<Body, BodyError> {
        let mut memory = Vec::new();
        let mut limited = source.take(limit.saturating_add(1));
        // One byte past the memory limit tells whether the body fits in memory.
        let n = (&mut limited)
            .take(MEMORY_LIMIT as u64 + 1)
            .read_to_end(&mut memory)
            .map_err(BodyError::Io)?;
        if n <= MEMORY_LIMIT {
            return check(Body::Memory(memory), limit);
        }
        let mut file = tempfile::tempfile().map_err(BodyError::Io)?;
        file.write_all(&memory).map_err(BodyError::Io)?;
        let rest = io::copy(&mut limited, &mut file).map_err(BodyError::Io)?;
        file.rewind().map_err(BodyError::Io)?;
        check(Body::File(file, n as u64 + rest), limit)
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Memory(v) => v.len() as u64,
            Body::File(_, len) => *len,
        }
    }

    /// True for a body of no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A reader over the whole body.
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        match self {
            Body::Memory(v) => Box::new(Cursor::new(v)),
            Body::File(f, _) => Box::new(f),
        }
    }
}

fn check(body: Body, limit: u64) -> Result<Body, BodyError> {
    if body.len() > limit {
        Err(BodyError::TooLarge)
    } else {
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_spill_to_a_file_and_read_back_whole() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let body = Body::read_from(&mut &data[..], 1 << 20).unwrap();
        assert!(matches!(body, Body::File(_, 200_000)));
        let mut back = Vec::new();
        body.into_reader().read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn a_body_of_exactly_the_memory_limit_stays_in_memory() {
        let data = vec![7u8; MEMORY_LIMIT];
        let body = Body::read_from(&mut &data[..], 1 << 20).unwrap();
        assert!(matches!(body, Body::Memory(ref v) if v.len() == MEMORY_LIMIT));
    }

    #[test]
    fn over_the_limit_is_refused() {
        let data = [1u8; 101];
        assert!(matches!(
            Body::read_from(&mut &data[..], 100),
            Err(BodyError::TooLarge)
        ));
        assert_eq!(Body::read_from(&mut &data[..], 101).unwrap().len(), 101);
    }
}
