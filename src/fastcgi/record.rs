//! FastCGI records (FastCGI Specification 1.0, 1996, §3 and §5): the 8-byte header, the
//! record types a responder uses, padding, and name-value pairs.
//!
//! Everything read here comes from another program: a bad version, a length that runs
//! past the content, an unknown type where one is not allowed are [`RecordError`]s,
//! never panics.

use std::fmt;

/// The only protocol version (§3.3, `FCGI_VERSION_1`).
pub const VERSION: u8 = 1;
/// Bytes in a record header (`FCGI_HEADER_LEN`).
pub const HEADER_LEN: usize = 8;
/// The most content one record carries: the length is 16 bits.
pub const MAX_CONTENT: usize = 65535;
/// Request id 0 is for management records (§3.3); a responder's requests use 1 and up.
pub const MANAGEMENT_ID: u16 = 0;

/// `FCGI_RESPONDER` (§6.2): the role a web server asks a CGI-like program to play.
pub const ROLE_RESPONDER: u16 = 1;
/// `FCGI_KEEP_CONN` (§5.1): the application keeps the connection open after the request.
pub const FLAG_KEEP_CONN: u8 = 1;

/// Record types (§8, `FCGI_BEGIN_REQUEST` ... `FCGI_UNKNOWN_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    BeginRequest = 1,
    AbortRequest = 2,
    EndRequest = 3,
    Params = 4,
    Stdin = 5,
    Stdout = 6,
    Stderr = 7,
    Data = 8,
    GetValues = 9,
    GetValuesResult = 10,
    UnknownType = 11,
}

impl RecordType {
    pub fn from_u8(b: u8) -> Option<RecordType> {
        use RecordType::*;
        Some(match b {
            1 => BeginRequest,
            2 => AbortRequest,
            3 => EndRequest,
            4 => Params,
            5 => Stdin,
            6 => Stdout,
            7 => Stderr,
            8 => Data,
            9 => GetValues,
            10 => GetValuesResult,
            11 => UnknownType,
            _ => return None,
        })
    }
}

/// `protocolStatus` of END_REQUEST (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolStatus {
    RequestComplete,
    CantMpxConn,
    Overloaded,
    UnknownRole,
    Other(u8),
}

impl From<u8> for ProtocolStatus {
    fn from(b: u8) -> ProtocolStatus {
        match b {
            0 => ProtocolStatus::RequestComplete,
            1 => ProtocolStatus::CantMpxConn,
            2 => ProtocolStatus::Overloaded,
            3 => ProtocolStatus::UnknownRole,
            n => ProtocolStatus::Other(n),
        }
    }
}

/// A record header (§3.3, `FCGI_Header`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: RecordType,
    pub request_id: u16,
    pub content_length: u16,
    pub padding_length: u8,
}

/// Something in the byte stream that is not FastCGI as the spec writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    BadVersion(u8),
    UnknownType(u8),
    /// A name-value pair whose lengths run past the content that holds it.
    TruncatedPair,
    /// An END_REQUEST whose body is not 8 bytes.
    BadEndRequest(usize),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::BadVersion(v) => write!(f, "record with version {v}, expected 1"),
            RecordError::UnknownType(t) => write!(f, "record of unknown type {t}"),
            RecordError::TruncatedPair => write!(f, "name-value pair runs past its record"),
            RecordError::BadEndRequest(n) => write!(f, "END_REQUEST body of {n} bytes, expected 8"),
        }
    }
}

impl std::error::Error for RecordError {}

impl Header {
    /// Decodes the 8 header bytes: version, type, request id (big-endian), content
    /// length (big-endian), padding length, reserved.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Header, RecordError> {
        if b[0] != VERSION {
            return Err(RecordError::BadVersion(b[0]));
        }
        let kind = RecordType::from_u8(b[1]).ok_or(RecordError::UnknownType(b[1]))?;
        Ok(Header {
            kind,
            request_id: u16::from_be_bytes([b[2], b[3]]),
            content_length: u16::from_be_bytes([b[4], b[5]]),
            padding_length: b[6],
        })
    }

    /// The 8 header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let id = self.request_id.to_be_bytes();
        let len = self.content_length.to_be_bytes();
        [
            VERSION,
            self.kind as u8,
            id[0],
            id[1],
            len[0],
            len[1],
            self.padding_length,
            0,
        ]
    }
}

/// Appends records of `kind` carrying `content`, split at [`MAX_CONTENT`] and padded to a
/// multiple of 8 bytes (the spec recommends 8-byte alignment, §3.3). Empty `content`
/// appends nothing: the empty record that ends a stream is [`push_end_of_stream`].
pub fn push_stream(out: &mut Vec<u8>, kind: RecordType, request_id: u16, content: &[u8]) {
    for piece in content.chunks(MAX_CONTENT) {
        push_record(out, kind, request_id, piece);
    }
}

/// Appends the empty record that ends a stream (§3.3: "an empty record ... indicates
/// the end of the stream").
pub fn push_end_of_stream(out: &mut Vec<u8>, kind: RecordType, request_id: u16) {
    push_record(out, kind, request_id, &[]);
}

/// Appends one record; `content` is at most [`MAX_CONTENT`] bytes.
pub fn push_record(out: &mut Vec<u8>, kind: RecordType, request_id: u16, content: &[u8]) {
    debug_assert!(content.len() <= MAX_CONTENT);
    let padding = (8 - content.len() % 8) % 8;
    let header = Header {
        kind,
        request_id,
        content_length: content.len() as u16,
        padding_length: padding as u8,
    };
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(content);
    out.extend_from_slice(&[0u8; 8][..padding]);
}

/// Appends a BEGIN_REQUEST record (§5.1): role (big-endian), flags, 5 reserved bytes.
pub fn push_begin_request(out: &mut Vec<u8>, request_id: u16, role: u16, flags: u8) {
    let r = role.to_be_bytes();
    push_record(
        out,
        RecordType::BeginRequest,
        request_id,
        &[r[0], r[1], flags, 0, 0, 0, 0, 0],
    );
}

/// Appends one name-value pair (§3.4): each length is one byte below 128, else four
/// bytes big-endian with the high bit set; then the name and the value.
pub fn push_pair(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    push_length(out, name.len());
    push_length(out, value.len());
    out.extend_from_slice(name);
    out.extend_from_slice(value);
}

fn push_length(out: &mut Vec<u8>, n: usize) {
    if n < 128 {
        out.push(n as u8);
    } else {
        // 31 bits: a longer name or value cannot be sent (and exec caps them far lower).
        let n = (n as u32).min(0x7fff_ffff) | 0x8000_0000;
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A name and its value, as bytes.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes the name-value pairs in `content` (one PARAMS or GET_VALUES_RESULT body).
pub fn decode_pairs(mut content: &[u8]) -> Result<Vec<Pair<'_>>, RecordError> {
    let mut pairs = Vec::new();
    while !content.is_empty() {
        let (name_len, rest) = take_length(content)?;
        let (value_len, rest) = take_length(rest)?;
        let total = name_len
            .checked_add(value_len)
            .ok_or(RecordError::TruncatedPair)?;
        if rest.len() < total {
            return Err(RecordError::TruncatedPair);
        }
        pairs.push((&rest[..name_len], &rest[name_len..total]));
        content = &rest[total..];
    }
    Ok(pairs)
}

fn take_length(b: &[u8]) -> Result<(usize, &[u8]), RecordError> {
    match b {
        [first, rest @ ..] if *first < 128 => Ok((*first as usize, rest)),
        [a, b1, c, d, rest @ ..] => {
            let n = u32::from_be_bytes([a & 0x7f, *b1, *c, *d]);
            Ok((n as usize, rest))
        }
        _ => Err(RecordError::TruncatedPair),
    }
}

/// The body of END_REQUEST (§5.5): `appStatus` (big-endian u32), `protocolStatus`.
pub fn decode_end_request(content: &[u8]) -> Result<(u32, ProtocolStatus), RecordError> {
    if content.len() != 8 {
        return Err(RecordError::BadEndRequest(content.len()));
    }
    let app = u32::from_be_bytes([content[0], content[1], content[2], content[3]]);
    Ok((app, ProtocolStatus::from(content[4])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §3.3: version, type, requestIdB1, requestIdB0, contentLengthB1, contentLengthB0,
    /// paddingLength, reserved.
    #[test]
    fn header_bytes_are_the_specs_layout() {
        let h = Header {
            kind: RecordType::Stdout,
            request_id: 0x0102,
            content_length: 0x0304,
            padding_length: 4,
        };
        assert_eq!(h.encode(), [1, 6, 1, 2, 3, 4, 4, 0]);
        assert_eq!(Header::decode(&h.encode()), Ok(h));
    }

    #[test]
    fn a_wrong_version_or_type_is_an_error() {
        assert_eq!(
            Header::decode(&[2, 6, 0, 1, 0, 0, 0, 0]),
            Err(RecordError::BadVersion(2))
        );
        assert_eq!(
            Header::decode(&[1, 42, 0, 1, 0, 0, 0, 0]),
            Err(RecordError::UnknownType(42))
        );
    }

    /// §5.1: FCGI_BeginRequestBody is roleB1, roleB0, flags, reserved[5].
    #[test]
    fn begin_request_is_responder_with_keep_conn() {
        let mut out = Vec::new();
        push_begin_request(&mut out, 1, ROLE_RESPONDER, FLAG_KEEP_CONN);
        assert_eq!(
            out,
            [
                1, 1, 0, 1, 0, 8, 0, 0, /* body */ 0, 1, 1, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn records_are_padded_to_eight_bytes() {
        let mut out = Vec::new();
        push_stream(&mut out, RecordType::Stdin, 1, b"abc");
        assert_eq!(
            out,
            [1, 5, 0, 1, 0, 3, 5, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn the_end_of_a_stream_is_an_empty_record() {
        let mut out = Vec::new();
        push_end_of_stream(&mut out, RecordType::Params, 1);
        assert_eq!(out, [1, 4, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn long_content_is_split_at_65535_bytes() {
        let mut out = Vec::new();
        push_stream(&mut out, RecordType::Stdin, 1, &vec![7u8; 70000]);
        let first = Header::decode(out[..8].try_into().unwrap()).unwrap();
        assert_eq!(first.content_length, 65535);
        assert_eq!(first.padding_length, 1);
        let second_at = 8 + 65535 + 1;
        let second = Header::decode(out[second_at..second_at + 8].try_into().unwrap()).unwrap();
        assert_eq!(second.content_length as usize, 70000 - 65535);
    }

    /// §3.4: lengths below 128 take one byte; longer ones four, high bit set.
    #[test]
    fn pair_lengths_take_one_or_four_bytes() {
        let mut out = Vec::new();
        push_pair(&mut out, b"A", b"xy");
        assert_eq!(out, [1, 2, b'A', b'x', b'y']);
        let long = vec![b'v'; 200];
        let mut out = Vec::new();
        push_pair(&mut out, b"N", &long);
        assert_eq!(&out[..6], &[1, 0x80, 0, 0, 200, b'N']);
        assert_eq!(decode_pairs(&out).unwrap(), vec![(&b"N"[..], &long[..])]);
    }

    #[test]
    fn pairs_round_trip() {
        let mut out = Vec::new();
        push_pair(&mut out, b"REQUEST_METHOD", b"GET");
        push_pair(&mut out, b"EMPTY", b"");
        let pairs = decode_pairs(&out).unwrap();
        assert_eq!(
            pairs,
            vec![
                (&b"REQUEST_METHOD"[..], &b"GET"[..]),
                (&b"EMPTY"[..], &b""[..])
            ]
        );
    }

    #[test]
    fn a_pair_past_its_content_is_an_error() {
        assert_eq!(decode_pairs(&[5, 1, b'a']), Err(RecordError::TruncatedPair));
        assert_eq!(decode_pairs(&[0x80, 0]), Err(RecordError::TruncatedPair));
        assert_eq!(
            decode_pairs(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(RecordError::TruncatedPair)
        );
    }

    /// §5.5: appStatusB3..B0, protocolStatus, reserved[3].
    #[test]
    fn end_request_carries_app_and_protocol_status() {
        assert_eq!(
            decode_end_request(&[0, 0, 1, 2, 0, 0, 0, 0]),
            Ok((258, ProtocolStatus::RequestComplete))
        );
        assert_eq!(
            decode_end_request(&[0, 0, 0, 0, 1, 0, 0, 0]),
            Ok((0, ProtocolStatus::CantMpxConn))
        );
        assert_eq!(
            decode_end_request(&[0; 3]),
            Err(RecordError::BadEndRequest(3))
        );
    }
}
