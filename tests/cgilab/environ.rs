//! The meta-variables a script gets (RFC 3875 §4.1) and its command line (§4.4), seen by an
//! env-echo script that prints its whole environment.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{Conn, ENV_ECHO, Server, Site};

fn server() -> Server {
    Site::new().script("env.sh", ENV_ECHO).start()
}

/// The environment env.sh saw for `GET target`.
fn env_of(server: &Server, target: &str) -> BTreeMap<String, String> {
    env_with(server, "GET", target, &[], b"")
}

/// The environment env.sh saw for a request with these headers and body.
fn env_with(
    server: &Server,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> BTreeMap<String, String> {
    let res = server.connect().request(method, target, headers, body);
    assert_eq!(res.status, 200, "{}\n{}", res.text(), server.log_text());
    res.env()
}

fn var<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str)
}

/// §4.1.4: GATEWAY_INTERFACE is `CGI/1.1`.
#[test]
fn gateway_interface_is_cgi_1_1() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "GATEWAY_INTERFACE"), Some("CGI/1.1"));
}

/// §4.1.17: SERVER_SOFTWARE names the server, as its `Server` header does.
#[test]
fn server_software_names_the_server() {
    let server = server();
    let res = server.get("/cgi-bin/env.sh");
    let env = res.env();
    let software = var(&env, "SERVER_SOFTWARE").expect("SERVER_SOFTWARE");
    assert!(software.starts_with("cgilab/"), "{software}");
    assert_eq!(res.header("Server"), Some(software));
}

/// §4.1.14: SERVER_NAME is the host the client asked for, without its port.
#[test]
fn server_name_is_the_host_header_without_port() {
    let server = server();
    let env = env_with(
        &server,
        "GET",
        "/cgi-bin/env.sh",
        &[("Host", "example.test:8080")],
        b"",
    );
    assert_eq!(var(&env, "SERVER_NAME"), Some("example.test"));
}

/// §4.1.15: SERVER_PORT is the port the request arrived on, not the one in `Host`.
#[test]
fn server_port_is_the_listening_port() {
    let server = server();
    let env = env_with(
        &server,
        "GET",
        "/cgi-bin/env.sh",
        &[("Host", "example.test:8080")],
        b"",
    );
    assert_eq!(var(&env, "SERVER_PORT"), Some(&*server.port().to_string()));
}

/// §4.1.16: SERVER_PROTOCOL is the protocol version of the request itself.
#[test]
fn server_protocol_is_the_requests_own_version() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "SERVER_PROTOCOL"), Some("HTTP/1.1"));

    let res = server.raw(b"GET /cgi-bin/env.sh HTTP/1.0\r\nHost: x\r\n\r\n");
    assert_eq!(res.status, 200);
    assert_eq!(var(&res.env(), "SERVER_PROTOCOL"), Some("HTTP/1.0"));
}

/// §4.1.12: REQUEST_METHOD is the method as sent.
#[test]
fn request_method_is_the_requests_method() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "REQUEST_METHOD"), Some("GET"));
    let env = env_with(&server, "POST", "/cgi-bin/env.sh", &[], b"x");
    assert_eq!(var(&env, "REQUEST_METHOD"), Some("POST"));
    let env = env_with(&server, "DELETE", "/cgi-bin/env.sh", &[], b"");
    assert_eq!(var(&env, "REQUEST_METHOD"), Some("DELETE"));
}

/// §4.1.7: QUERY_STRING is the query exactly as sent, still URL-encoded.
#[test]
fn query_string_is_passed_raw() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh?a=1&b=%20x+y&c=%3D");
    assert_eq!(var(&env, "QUERY_STRING"), Some("a=1&b=%20x+y&c=%3D"));
}

/// §4.1.7: without a query, QUERY_STRING is set, to the empty string.
#[test]
fn query_string_is_set_but_empty_without_a_query() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "QUERY_STRING"), Some(""));
}

/// §4.1.5: PATH_INFO is the rest of the path after the script name, decoded.
#[test]
fn path_info_is_decoded() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh/a%20b/c%2Bd?q=1");
    assert_eq!(var(&env, "PATH_INFO"), Some("/a b/c+d"));
}

/// §4.1.6: PATH_TRANSLATED is set exactly when PATH_INFO is not empty, mapping it under
/// the document root. §4.1.5: with nothing after the script name, PATH_INFO is set and
/// empty, as WSGI servers give it.
#[test]
fn path_translated_is_set_exactly_when_path_info_is() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh/docs/x.txt");
    let expected = format!("{}/docs/x.txt", server.root().display());
    assert_eq!(var(&env, "PATH_TRANSLATED"), Some(&*expected));

    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "PATH_INFO"), Some(""));
    assert_eq!(var(&env, "PATH_TRANSLATED"), None);
}

/// §4.1.13: SCRIPT_NAME is the URL path that names the script, without PATH_INFO.
#[test]
fn script_name_is_the_url_path_of_the_script() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh/more/path?x=1");
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/cgi-bin/env.sh"));
}

/// §4.1.8: REMOTE_ADDR is the client's address, without a port.
#[test]
fn remote_addr_is_the_client_ip_without_port() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("127.0.0.1"));
}

/// §4.1.9: REMOTE_HOST is set; without DNS lookups it is the client's address.
#[test]
fn remote_host_is_the_client_address() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "REMOTE_HOST"), Some("127.0.0.1"));
}

/// §4.1.2, §4.1.3: CONTENT_LENGTH and CONTENT_TYPE are set only when the request has
/// a body and a type.
#[test]
fn content_length_and_type_only_when_the_request_has_them() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "CONTENT_LENGTH"), None);
    assert_eq!(var(&env, "CONTENT_TYPE"), None);

    let env = env_with(
        &server,
        "POST",
        "/cgi-bin/env.sh",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"a=1&b=2",
    );
    assert_eq!(var(&env, "CONTENT_LENGTH"), Some("7"));
    assert_eq!(
        var(&env, "CONTENT_TYPE"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(var(&env, "HTTP_CONTENT_LENGTH"), None);
    assert_eq!(var(&env, "HTTP_CONTENT_TYPE"), None);
}

/// §4.1.18: each request header becomes HTTP_NAME; repeated fields are merged into one
/// comma-separated value.
#[test]
fn headers_become_http_variables_with_duplicates_merged() {
    let server = server();
    let env = env_with(
        &server,
        "GET",
        "/cgi-bin/env.sh",
        &[
            ("X-Custom-Thing", "hello"),
            ("X-Dup", "a"),
            ("x-dup", "b"),
            ("Accept-Language", "en"),
        ],
        b"",
    );
    assert_eq!(var(&env, "HTTP_X_CUSTOM_THING"), Some("hello"));
    assert_eq!(var(&env, "HTTP_X_DUP"), Some("a, b"));
    assert_eq!(var(&env, "HTTP_ACCEPT_LANGUAGE"), Some("en"));
    assert_eq!(var(&env, "HTTP_HOST"), Some("127.0.0.1"));
}

/// REQUEST_URI (an extension scripts rely on) is the raw request target.
#[test]
fn request_uri_is_the_raw_target() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh/a%20b?x=%41");
    assert_eq!(
        var(&env, "REQUEST_URI"),
        Some("/cgi-bin/env.sh/a%20b?x=%41")
    );
}

/// SCRIPT_FILENAME is the script's real path on disk.
#[test]
fn script_filename_is_the_scripts_real_path() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh/extra");
    let expected = server.cgi_bin().join("env.sh");
    assert_eq!(var(&env, "SCRIPT_FILENAME"), expected.to_str());
}

/// REMOTE_PORT is the client's own port.
#[test]
fn remote_port_is_the_clients_port() {
    let server = server();
    let mut conn: Conn = server.connect();
    let port = conn.local_port();
    let res = conn.get("/cgi-bin/env.sh");
    assert_eq!(var(&res.env(), "REMOTE_PORT"), Some(&*port.to_string()));
}

/// SERVER_ADDR is the address the server listens on.
#[test]
fn server_addr_is_the_listening_address() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "SERVER_ADDR"), Some("127.0.0.1"));
}

/// DOCUMENT_ROOT is the directory that holds cgi-bin.
#[test]
fn document_root_is_the_parent_of_cgi_bin() {
    let server = server();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "DOCUMENT_ROOT"), server.root().to_str());
}

/// §7.2: the script runs in its own directory.
#[test]
fn working_directory_is_the_scripts_directory() {
    let server = Site::new()
        .script(
            "cwd.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\npwd -P\n",
        )
        .start();
    let res = server.get("/cgi-bin/cwd.sh");
    assert_eq!(res.status, 200);
    assert_eq!(res.text().trim_end(), server.cgi_bin().to_str().unwrap());
}

/// httpoxy: a `Proxy` request header never becomes HTTP_PROXY, which HTTP client
/// libraries in the script would take as their proxy setting.
#[test]
fn proxy_header_never_becomes_http_proxy() {
    let server = server();
    let env = env_with(
        &server,
        "GET",
        "/cgi-bin/env.sh",
        &[("Proxy", "http://evil.test:1")],
        b"",
    );
    assert_eq!(var(&env, "HTTP_PROXY"), None);
    assert!(!env.values().any(|v| v.contains("evil.test")), "{env:?}");
}

/// §4.1.18: a header spelled with underscores (`X_Forwarded_For`) cannot pose as the
/// variable of the real header.
#[test]
fn underscore_header_cannot_spoof_a_dash_header() {
    let server = server();
    let env = env_with(
        &server,
        "GET",
        "/cgi-bin/env.sh",
        &[("X_Forwarded_For", "6.6.6.6")],
        b"",
    );
    assert_eq!(var(&env, "HTTP_X_FORWARDED_FOR"), None);

    let env = env_with(
        &server,
        "GET",
        "/cgi-bin/env.sh",
        &[
            ("X-Forwarded-For", "1.2.3.4"),
            ("X_Forwarded_For", "6.6.6.6"),
        ],
        b"",
    );
    assert_eq!(var(&env, "HTTP_X_FORWARDED_FOR"), Some("1.2.3.4"));
}

/// The variables a script may see without --env: the meta-variables, PATH, the
/// `STATE_DIR` every test server passes with --env, and `PWD`, which sh adds by itself.
fn allowed(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "GATEWAY_INTERFACE",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
        "REQUEST_URI",
        "REQUEST_SCHEME",
        "SCRIPT_FILENAME",
        "REMOTE_PORT",
        "SERVER_ADDR",
        "DOCUMENT_ROOT",
        "PATH",
        "STATE_DIR",
        "PWD",
    ];
    NAMES.contains(&name) || name.starts_with("HTTP_")
}

/// Nothing of the server's own environment reaches a script but PATH and what --env and
/// --pass-env name.
#[test]
fn server_environment_does_not_leak() {
    let server = Site::new()
        .script("env.sh", ENV_ECHO)
        .server_env("CGILAB_IT_SECRET", "s3cret-value")
        .start();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "CGILAB_IT_SECRET"), None);
    let leaked: BTreeSet<&String> = env.keys().filter(|n| !allowed(n)).collect();
    assert!(leaked.is_empty(), "leaked into the script: {leaked:?}");
    assert!(var(&env, "PATH").is_some_and(|p| !p.is_empty()));
}

/// --pass-env copies one named variable of the server's environment to every script.
#[test]
fn pass_env_copies_a_named_variable() {
    let server = Site::new()
        .script("env.sh", ENV_ECHO)
        .server_env("CGILAB_IT_SECRET", "s3cret-value")
        .server_env("CGILAB_IT_OTHER", "not-passed")
        .arg("--pass-env")
        .arg("CGILAB_IT_SECRET")
        .start();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "CGILAB_IT_SECRET"), Some("s3cret-value"));
    assert_eq!(var(&env, "CGILAB_IT_OTHER"), None);
}

/// --env sets a variable for every script.
#[test]
fn env_flag_sets_a_variable() {
    let server = Site::new()
        .script("env.sh", ENV_ECHO)
        .arg("--env")
        .arg("GREETING=hello=world")
        .start();
    let env = env_of(&server, "/cgi-bin/env.sh");
    assert_eq!(var(&env, "GREETING"), Some("hello=world"));
}

const ARGS: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nprintf '%s\\n' \"$#\"\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n";

/// §4.4: a query without an unencoded `=` is a list of search words, passed as the
/// script's arguments, `+`-separated and decoded.
#[test]
fn query_without_equals_becomes_argv() {
    let server = Site::new().script("args.sh", ARGS).start();
    let res = server.get("/cgi-bin/args.sh?hello+big%20world");
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "2\n[hello]\n[big world]\n");
}

/// §4.4: a query with an `=` gives the script no arguments.
#[test]
fn query_with_equals_gives_no_argv() {
    let server = Site::new().script("args.sh", ARGS).start();
    let res = server.get("/cgi-bin/args.sh?a=1+2");
    assert_eq!(res.text(), "0\n");
    let res = server.get("/cgi-bin/args.sh");
    assert_eq!(res.text(), "0\n");
}
