//! What lesson 1's check says (`checks/hello.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "create it: a `Content-Type: text/plain` line, an empty line, then `Hello from NAME!`",
        "创建它：一行 `Content-Type: text/plain`，一个空行，然后是 `Hello from NAME!`",
    ),
    (
        "its Content-Type is `{}`, not text/plain",
        "它的 Content-Type 是 `{}`，不是 text/plain",
    ),
    (
        "GET /cgi-bin/me.sh answers 200 text/plain",
        "GET /cgi-bin/me.sh 回答 200 text/plain",
    ),
    ("it says `{}`", "它说的是 `{}`"),
    (
        "put your own name in place of NAME",
        "把 NAME 换成你自己的名字",
    ),
    ("it says: {}", "它说：{}"),
    (
        "the body must be one line, `Hello from NAME!`, with your name for NAME",
        "响应体必须只有一行 `Hello from NAME!`，NAME 换成你的名字",
    ),
];
