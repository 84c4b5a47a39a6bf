//! Tests of the FastCGI client against fake applications on socket pairs: the bytes a
//! request is made of, and every way an answer can go wrong.

use super::*;
use std::io::Write;
use std::thread;

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

/// A fake application on the other end of a socket pair: reads the request, answers
/// with the bytes given.
fn app(answer: Vec<u8>) -> (Connection, thread::JoinHandle<Vec<u8>>) {
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let handle = thread::spawn(move || {
        let mut got = vec![0u8; 4096];
        let n = theirs.read(&mut got).unwrap();
        got.truncate(n);
        theirs.write_all(&answer).unwrap();
        got
    });
    (Connection::new(ours), handle)
}

fn end_request(out: &mut Vec<u8>, app_status: u32) {
    let s = app_status.to_be_bytes();
    record::push_record(
        out,
        RecordType::EndRequest,
        1,
        &[s[0], s[1], s[2], s[3], 0, 0, 0, 0],
    );
}

#[test]
fn a_request_is_begin_params_and_stdin_each_ended_by_an_empty_record() {
    let mut answer = Vec::new();
    end_request(&mut answer, 0);
    let (mut conn, handle) = app(answer);
    let params = [(&b"REQUEST_METHOD"[..], &b"POST"[..])];
    conn.send_request(params, Box::new(&b"hi"[..]), soon())
        .unwrap();
    assert!(matches!(
        conn.next(soon()).unwrap(),
        Event::End { app_status: 0, .. }
    ));
    let sent = handle.join().unwrap();
    let mut expected = Vec::new();
    record::push_begin_request(&mut expected, 1, 1, 1);
    let mut pairs = Vec::new();
    record::push_pair(&mut pairs, b"REQUEST_METHOD", b"POST");
    record::push_stream(&mut expected, RecordType::Params, 1, &pairs);
    record::push_end_of_stream(&mut expected, RecordType::Params, 1);
    record::push_stream(&mut expected, RecordType::Stdin, 1, b"hi");
    record::push_end_of_stream(&mut expected, RecordType::Stdin, 1);
    assert_eq!(sent, expected);
}

#[test]
fn stdout_and_stderr_arrive_in_order_then_end_request() {
    let mut answer = Vec::new();
    record::push_stream(
        &mut answer,
        RecordType::Stdout,
        1,
        b"Content-Type: text/plain\r\n\r\n",
    );
    record::push_stream(&mut answer, RecordType::Stderr, 1, b"warning\n");
    record::push_stream(&mut answer, RecordType::Stdout, 1, b"hello");
    record::push_end_of_stream(&mut answer, RecordType::Stdout, 1);
    end_request(&mut answer, 3);
    let (mut conn, _h) = app(answer);
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    assert_eq!(
        conn.next(soon()).unwrap(),
        Event::Stdout(b"Content-Type: text/plain\r\n\r\n")
    );
    assert_eq!(conn.next(soon()).unwrap(), Event::Stderr(b"warning\n"));
    assert_eq!(conn.next(soon()).unwrap(), Event::Stdout(b"hello"));
    assert_eq!(
        conn.next(soon()).unwrap(),
        Event::End {
            app_status: 3,
            protocol_status: ProtocolStatus::RequestComplete
        }
    );
}

#[test]
fn next_buffered_returns_only_what_has_arrived() {
    let mut answer = Vec::new();
    record::push_stream(
        &mut answer,
        RecordType::Stdout,
        1,
        b"Status: 200\r\n\r\nbody",
    );
    record::push_end_of_stream(&mut answer, RecordType::Stdout, 1);
    end_request(&mut answer, 0);
    // Everything but the last byte of END_REQUEST.
    let (mut conn, h) = app(answer[..answer.len() - 1].to_vec());
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    h.join().unwrap();
    assert!(matches!(conn.next(soon()), Ok(Event::Stdout(_))));
    assert!(
        conn.next_buffered().is_none(),
        "END_REQUEST is not whole yet"
    );
}

#[test]
fn a_close_before_end_request_is_closed() {
    let mut answer = Vec::new();
    record::push_stream(&mut answer, RecordType::Stdout, 1, b"Status: 200\r\n");
    let (mut conn, h) = app(answer);
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    assert!(matches!(conn.next(soon()).unwrap(), Event::Stdout(_)));
    h.join().unwrap();
    assert!(matches!(conn.next(soon()), Err(ClientError::Closed)));
}

#[test]
fn a_record_cut_short_is_closed() {
    let (mut conn, h) = app(vec![1, 6, 0, 1, 0, 100, 0, 0, b'x']);
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    h.join().unwrap();
    assert!(matches!(conn.next(soon()), Err(ClientError::Closed)));
}

#[test]
fn garbage_is_a_record_error() {
    let (mut conn, _h) = app(b"HTTP/1.1 200 OK\r\n\r\n".to_vec());
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    assert!(matches!(
        conn.next(soon()),
        Err(ClientError::Record(RecordError::BadVersion(b'H')))
    ));
}

#[test]
fn another_request_id_is_unexpected() {
    let mut answer = Vec::new();
    record::push_stream(&mut answer, RecordType::Stdout, 2, b"x");
    let (mut conn, _h) = app(answer);
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    assert!(matches!(conn.next(soon()), Err(ClientError::Unexpected(_))));
}

#[test]
fn too_much_stderr_is_oversized() {
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let _h = thread::spawn(move || {
        let mut sink = [0u8; 4096];
        let _ = theirs.read(&mut sink);
        let mut piece = Vec::new();
        record::push_stream(&mut piece, RecordType::Stderr, 1, &[b'e'; 60000]);
        for _ in 0..20 {
            if theirs.write_all(&piece).is_err() {
                break;
            }
        }
    });
    let mut conn = Connection::new(ours);
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    let err = loop {
        match conn.next(soon()) {
            Ok(Event::Stderr(_)) => continue,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, ClientError::Oversized("stderr")));
}

#[test]
fn silence_past_the_deadline_is_timed_out() {
    let (ours, _theirs) = UnixStream::pair().unwrap();
    let mut conn = Connection::new(ours);
    let deadline = Instant::now() + Duration::from_millis(100);
    assert!(matches!(conn.next(deadline), Err(ClientError::TimedOut)));
    assert!(Instant::now() >= deadline, "timed out before its deadline");
}

#[test]
fn get_values_reads_the_result_or_unknown_type() {
    let mut pairs = Vec::new();
    record::push_pair(&mut pairs, b"FCGI_MPXS_CONNS", b"0");
    let mut answer = Vec::new();
    record::push_record(&mut answer, RecordType::GetValuesResult, 0, &pairs);
    let (mut conn, h) = app(answer);
    let values = conn.get_values(&["FCGI_MPXS_CONNS"], soon()).unwrap();
    assert_eq!(
        values,
        vec![("FCGI_MPXS_CONNS".to_string(), "0".to_string())]
    );
    let sent = h.join().unwrap();
    assert_eq!(&sent[..4], &[1, 9, 0, 0]);

    let mut answer = Vec::new();
    record::push_record(
        &mut answer,
        RecordType::UnknownType,
        0,
        &[9, 0, 0, 0, 0, 0, 0, 0],
    );
    let (mut conn, _h) = app(answer);
    assert_eq!(
        conn.get_values(&["FCGI_MAX_CONNS"], soon()).unwrap(),
        vec![]
    );
}

#[test]
fn a_large_body_goes_as_many_stdin_records() {
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let h = thread::spawn(move || {
        // Reads the whole request (to the empty STDIN), then answers.
        let mut all = Vec::new();
        let mut buf = [0u8; 8192];
        while !ends_with_empty_stdin(&all) {
            let n = theirs.read(&mut buf).unwrap();
            assert!(n > 0, "the request ended early");
            all.extend_from_slice(&buf[..n]);
        }
        let mut answer = Vec::new();
        end_request(&mut answer, 0);
        theirs.write_all(&answer).unwrap();
        all
    });
    let body = vec![b'z'; 300_000];
    let mut conn = Connection::new(ours);
    conn.send_request([], Box::new(io::Cursor::new(body.clone())), soon())
        .unwrap();
    // Most of the body goes out while the answer is awaited.
    assert!(matches!(conn.next(soon()).unwrap(), Event::End { .. }));
    let sent = h.join().unwrap();
    // Walk the records and put the STDIN stream back together.
    let (mut at, mut stdin, mut ended) = (0, Vec::new(), false);
    while at < sent.len() {
        let h = Header::decode(sent[at..at + 8].try_into().unwrap()).unwrap();
        let content = &sent[at + 8..at + 8 + h.content_length as usize];
        if h.kind == RecordType::Stdin {
            if content.is_empty() {
                ended = true;
            }
            stdin.extend_from_slice(content);
        }
        at += 8 + h.content_length as usize + h.padding_length as usize;
    }
    assert!(ended);
    assert_eq!(stdin, body);
}

/// True once `sent` ends with the empty STDIN record that ends a request.
fn ends_with_empty_stdin(sent: &[u8]) -> bool {
    let mut end = Vec::new();
    record::push_end_of_stream(&mut end, RecordType::Stdin, 1);
    sent.ends_with(&end)
}

/// Full duplex: an app that echoes its STDIN as it reads it, and so answers long before
/// it has read the whole body, gets the whole body and is read all along. Written before
/// read, a 10 MB body would fill both socket buffers and stall both sides.
#[test]
fn an_app_that_answers_while_it_reads_gets_the_whole_body() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let h = thread::spawn(move || echo_app(theirs));
    let body = vec![b'e'; 10 << 20];
    let mut conn = Connection::new(ours);
    conn.send_request([], Box::new(io::Cursor::new(body.clone())), soon())
        .unwrap();
    let mut echoed = 0usize;
    loop {
        match conn.next(soon()).unwrap() {
            Event::Stdout(data) => echoed += data.len(),
            Event::Stderr(_) => {}
            Event::End { .. } => break,
        }
    }
    assert_eq!(echoed, body.len());
    assert!(conn.reusable());
    h.join().unwrap();
}

/// Echoes every STDIN record back as STDOUT as soon as it has read it.
fn echo_app(mut theirs: UnixStream) {
    let mut reader = io::BufReader::new(theirs.try_clone().unwrap());
    loop {
        let mut header = [0u8; 8];
        reader.read_exact(&mut header).unwrap();
        let h = Header::decode(&header).unwrap();
        let mut content = vec![0u8; h.content_length as usize + h.padding_length as usize];
        reader.read_exact(&mut content).unwrap();
        content.truncate(h.content_length as usize);
        if h.kind != RecordType::Stdin {
            continue;
        }
        if content.is_empty() {
            let mut out = Vec::new();
            record::push_end_of_stream(&mut out, RecordType::Stdout, 1);
            end_request(&mut out, 0);
            theirs.write_all(&out).unwrap();
            return;
        }
        let mut out = Vec::new();
        record::push_record(&mut out, RecordType::Stdout, 1, &content);
        theirs.write_all(&out).unwrap();
    }
}

/// Bytes after END_REQUEST would be taken for the next request's answer.
#[test]
fn anything_after_end_request_is_a_protocol_error() {
    let mut answer = Vec::new();
    end_request(&mut answer, 0);
    record::push_stream(
        &mut answer,
        RecordType::Stdout,
        1,
        b"Status: 200\r\n\r\nlate",
    );
    let (mut conn, h) = app(answer);
    conn.send_request([], Box::new(io::empty()), soon())
        .unwrap();
    h.join().unwrap();
    assert!(matches!(conn.next(soon()), Err(ClientError::Unexpected(_))));
}

/// An idle connection tells quiet, closed and out of step apart.
#[test]
fn an_idle_connection_is_quiet_closed_or_junk() {
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let conn = Connection::new(ours);
    assert_eq!(conn.idle(), Idle::Quiet);
    theirs.write_all(b"x").unwrap();
    assert_eq!(conn.idle(), Idle::Junk);
    let (ours, theirs) = UnixStream::pair().unwrap();
    let conn = Connection::new(ours);
    drop(theirs);
    assert_eq!(conn.idle(), Idle::Closed);
}
