//! What lesson 2's check says (`checks/echo.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "lesson 2's exercise says what it prints: path, query, color and body lines",
        "第 2 课的练习规定了它打印什么：path、query、color 和 body 这几行",
    ),
    (
        "print `path ` and then $PATH_INFO (it is already decoded)",
        "先打印 `path `，再打印 $PATH_INFO（它已经解码过了）",
    ),
    (
        "print `query ` and then $QUERY_STRING, as it is",
        "先打印 `query `，再原样打印 $QUERY_STRING",
    ),
    (
        "the X-Color header reaches a script as $HTTP_X_COLOR",
        "请求头 X-Color 以 $HTTP_X_COLOR 的形式到达脚本",
    ),
    (
        "the body has backslashes, and `echo` in dash (Debian's sh) rewrites them (`\\n` becomes a line break): print it with printf '%s\\n'",
        "请求体里有反斜杠，而 dash（Debian 的 sh）里的 `echo` 会改写它们（`\\n` 变成换行）：用 printf '%s\\n' 打印",
    ),
    (
        "read $CONTENT_LENGTH bytes from stdin (`head -c \"${}\"`); a GET has no body",
        "从标准输入读 $CONTENT_LENGTH 个字节（`head -c \"${}\"`）；GET 没有请求体",
    ),
    (
        "{} {}: line {} is `{}`, expected `{}`",
        "{} {}：第 {} 行是 `{}`，应该是 `{}`",
    ),
    (
        "{} {} echoes path, query, color and body",
        "{} {} 原样返回了 path、query、color 和 body",
    ),
];
