//! Lesson 9 (What a host must refuse): the check of its exercise.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

use super::*;

pub(super) fn notes(c: &mut Check) -> Result<(), Failure> {
    let name = require_script(
        c,
        "notes",
        "start from lessons/09-what-a-host-must-refuse/naive-notes.sh",
    )?;
    let n = nonce();
    let dir = tempfile::tempdir()
        .map_err(|e| fail(format!("cannot make a temporary directory: {e}"), ""))?;
    let notes_dir = dir.path().join("notes");
    let secret = format!("the secret is {n}\n");
    let write = |path: PathBuf, text: &str| {
        std::fs::create_dir_all(path.parent().expect("has a parent"))
            .and_then(|_| std::fs::write(&path, text))
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display()), ""))
    };
    write(notes_dir.join("welcome.txt"), "welcome to the notes\n")?;
    write(notes_dir.join(format!("n{n}.txt")), &format!("note {n}\n"))?;
    write(dir.path().join("secret.txt"), &secret)?;
    let server = c.serve(&[format!("--env=NOTES_DIR={}", notes_dir.display())])?;
    let base = format!("/cgi-bin/{name}?name=");

    for (note, text) in [
        (
            "welcome.txt".to_string(),
            "welcome to the notes\n".to_string(),
        ),
        (format!("n{n}.txt"), format!("note {n}\n")),
    ] {
        let target = format!("{base}{note}");
        let req = Req::get(&target);
        let resp = c.fetch(&server, &req, &name)?;
        c.expect_status(
            &server,
            &req,
            &resp,
            &name,
            200,
            "print the note with the default status",
        )?;
        if resp.text() != text {
            return Err(fail(
                format!(
                    "GET {target}: the body is `{}`, expected `{}`",
                    resp.text().escape_debug(),
                    text.escape_debug()
                ),
                "print the file $NOTES_DIR/NAME, where NAME comes from the query `name=NAME`",
            ));
        }
    }
    c.pass("it serves the notes in $NOTES_DIR");

    let secret_path = dir.path().join("secret.txt").display().to_string();
    let attacks = [
        ("../secret.txt".to_string(), true),
        ("welcome.txt/../../secret.txt".to_string(), true),
        (secret_path, true),
        ("..%2fsecret.txt".to_string(), false),
        ("%2e%2e%2fsecret.txt".to_string(), false),
    ];
    // Up and out; down, then up and out; a full path; `/` and `..` percent-encoded,
    // which a script that decodes its query would turn back into `../`.
    for (attack, must_be_403) in &attacks {
        let target = format!("{base}{attack}");
        let req = Req::get(&target);
        let resp = c.fetch(&server, &req, &name)?;
        if resp.text().contains(secret.trim_end()) {
            return Err(fail(
                format!("GET {target} leaked the file next to $NOTES_DIR"),
                "refuse any name that contains `/` or `..` before you build a path from it",
            ));
        }
        let refused = if *must_be_403 {
            resp.status == 403
        } else {
            matches!(resp.status, 400 | 403 | 404)
        };
        if !refused {
            return Err(fail(
                format!("GET {target} answered {}", resp.status_line()),
                "answer a name that contains `/` or `..` with `Status: 403 Forbidden`",
            ));
        }
        c.pass(format!(
            "a way out is refused: ?name={attack} answered {}",
            resp.status_line()
        ));
    }

    refused_before_opening(c, &server, &name, &base, dir.path())?;

    let target = format!("{base}no-such-note.txt");
    let req = Req::get(&target);
    let resp = c.fetch(&server, &req, &name)?;
    c.expect_status(
        &server,
        &req,
        &resp,
        &name,
        404,
        "answer a note that does not exist with `Status: 404 Not Found`",
    )?;
    c.pass("a missing note is 404");
    Ok(())
}

/// The task says a way out is refused without opening any file, and a script that
/// opens the file first and refuses after answers 403 as well. So one way out leads to a
/// named pipe: whoever opens it for reading waits there until a writer comes. The check
/// opens it for writing without waiting (`O_NONBLOCK`), which succeeds only while a
/// reader has it open, and then lets the reader go.
fn refused_before_opening(
    c: &mut Check,
    server: &ServerProcess,
    name: &str,
    base: &str,
    dir: &Path,
) -> Result<(), Failure> {
    let trap = dir.join("opened.txt");
    let path = std::ffi::CString::new(trap.as_os_str().as_bytes()).expect("no NUL in a temp path");
    // SAFETY: `path` is a valid C string that outlives the call.
    if unsafe { libc::mkfifo(path.as_ptr(), 0o600) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(fail(
            format!("cannot make the pipe {}: {e}", trap.display()),
            "",
        ));
    }
    let target = format!("{base}../opened.txt");
    let req = Req::get(&target);
    let (opened, resp) = std::thread::scope(|s| {
        let check = &*c;
        let asked = s.spawn(|| check.fetch(server, &req, name));
        let mut opened = false;
        while !asked.is_finished() {
            let writer = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&trap);
            if let Ok(mut writer) = writer {
                // A byte, then the end: the script reads them and goes on.
                let _ = writer.write_all(b"x");
                opened = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (opened, asked.join().expect("the request thread panicked"))
    });
    if opened {
        return Err(Failure {
            what: format!(
                "GET {target}: the script opened ../opened.txt (a named pipe the check watches) before it refused the name"
            ),
            details: logged(server, name),
            hint: "refuse a name that contains `/` or `..` first, before you open, read or test anything with it".into(),
        });
    }
    let resp = resp?;
    if resp.status != 403 {
        return Err(fail(
            format!("GET {target} answered {}", resp.status_line()),
            "answer a name that contains `/` or `..` with `Status: 403 Forbidden`",
        ));
    }
    c.pass("?name=../opened.txt answered 403 Forbidden before any file was opened");
    Ok(())
}
