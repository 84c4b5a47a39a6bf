//! What lesson 4's check says (`checks/compiled.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "copy it: `cp target/release/hello-cgi cgi-bin/` (after `cargo build --release`)",
        "复制过去：`cp target/release/hello-cgi cgi-bin/`（先 `cargo build --release`）",
    ),
    ("{} is a symlink", "{} 是一个符号链接"),
    (
        "cgilab refuses to run a file whose real path leaves cgi-bin (lesson 9 says why); {}",
        "cgilab 拒绝运行真实路径在 cgi-bin 之外的文件（第 9 课讲原因）；{}",
    ),
    ("{} is not a compiled program", "{} 不是编译出来的程序"),
    (
        "the point is a process with no interpreter to start; {}",
        "要点是一个不用启动解释器的进程；{}",
    ),
    ("{} is a compiled program", "{} 是编译出来的程序"),
    (
        "it should say `Hello, world!`, like hello.sh",
        "它应该像 hello.sh 那样说 `Hello, world!`",
    ),
    (
        "GET /cgi-bin/hello-cgi answers Hello, world!",
        "GET /cgi-bin/hello-cgi 回答 Hello, world!",
    ),
    ("it should answer 200", "它应该回答 200"),
    (
        "hello-cgi is not faster than hello.py: {}",
        "hello-cgi 并不比 hello.py 快：{}",
    ),
    (
        "is the machine busy? run the check again; a compiled hello should win easily",
        "机器是不是很忙？再运行一次检查；编译出来的 hello 应该轻松获胜",
    ),
    (
        "median time per request, {} requests each: {}",
        "每个请求的中位时间，各 {} 个请求：{}",
    ),
];
