//! What every check says (`checks/mod.rs`), and what several checks share.

pub const MESSAGES: &[(&str, &str)] = &[
    ("the server logged:", "服务器的日志："),
    ("cgilab serve did not start", "cgilab serve 没有启动起来"),
    (
        "run `cgilab serve --cgi-bin DIR` yourself to see why",
        "自己运行 `cgilab serve --cgi-bin DIR`，看看是什么原因",
    ),
    (
        "the script must finish its answer; does it wait for input that never comes?",
        "脚本必须把回答写完；它是不是在等一个永远不会来的输入？",
    ),
    (
        "there is no such script: is the file in cgi-bin, under that name?",
        "没有这个脚本：文件在 cgi-bin 里吗？名字对吗？",
    ),
    (
        "cgilab refused to run it; the log line says why",
        "cgilab 拒绝运行它；日志里那一行说明了原因",
    ),
    (
        "the script could not start: if it is executable, check its `#!` line",
        "脚本没能启动：如果它是可执行文件，检查它的 `#!` 行",
    ),
    (
        "the script's output is not a CGI response (header lines, an empty line, then the body); the log line says what is wrong",
        "脚本的输出不是 CGI 响应（几行头部、一个空行、然后是响应体）；日志里那一行说明了哪里不对",
    ),
    ("the script ran past the timeout", "脚本运行超时了"),
    ("{} {} answered {}, not {}", "{} {} 回答了 {}，而不是 {}"),
    ("{} exists", "{} 存在"),
    ("{} does not exist", "{} 不存在"),
    (
        "{} does not exist (nor {}.py, {}.pl)",
        "{} 不存在（{}.py、{}.pl 也不存在）",
    ),
    ("its body is `{}`", "它的响应体是 `{}`"),
    ("answer with the default status", "用默认的状态码回答"),
    (
        "print `Content-Type: text/plain` as the header line",
        "把 `Content-Type: text/plain` 作为头部那一行打印出来",
    ),
    ("worker {} answered {}", "worker {} 回答了 {}"),
    (
        "cannot make a temporary directory: {}",
        "无法创建临时目录：{}",
    ),
    (
        "GET {} answered `{}`, not the lines {}",
        "GET {} 回答了 `{}`，而不是这几行：{}",
    ),
];
