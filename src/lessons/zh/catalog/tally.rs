//! What lesson 6's check says (`checks/tally.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "answer two lines, `pid PID` (os.getpid()) and `requests N`, N counted in a global that the app adds one to on each call; run it as CGI with wsgiref's CGIHandler under `if __name__ == \"__main__\":`",
        "回答两行，`pid PID`（os.getpid()）和 `requests N`，N 记在一个全局变量里，应用每被调用一次就加一；在 `if __name__ == \"__main__\":` 下用 wsgiref 的 CGIHandler 把它作为 CGI 运行",
    ),
    (
        "GET {} says `requests {}`; as CGI every request is a new process",
        "GET {} 说 `requests {}`；作为 CGI，每个请求都是一个新进程",
    ),
    (
        "count in a global of the module: a new process starts it at 0 again",
        "在模块的全局变量里计数：新进程会从 0 重新开始",
    ),
    (
        "GET {} twice says the same pid {}",
        "两次 GET {} 说的是同一个 pid {}",
    ),
    (
        "print os.getpid(), the pid of the process that answers",
        "打印 os.getpid()，即回答请求的那个进程的 pid",
    ),
    (
        "as CGI, each request is a new process (pid {}, then {}) that answers `requests 1`",
        "作为 CGI，每个请求都是一个新进程（pid {}，然后 {}），回答 `requests 1`",
    ),
    (
        "GET {}, {} at a time: worker {} answered {} requests and said `requests` {}, not 1 to {}",
        "GET {}，每次同时 {} 个：worker {} 回答了 {} 个请求，说的 `requests` 是 {}，而不是 1 到 {}",
    ),
    (
        "count in a global of the module, one per process: add one on every call and print it after adding",
        "用模块里的一个全局变量计数，每个进程一份：每次调用加一，加完再打印",
    ),
    (
        "{} pids answered a pool of 2 workers",
        "{} 个 pid 回答了发往 2 个 worker 的进程池的请求",
    ),
    (
        "print os.getpid() of the process that answers, not of a child it starts",
        "打印回答请求的那个进程的 os.getpid()，而不是它启动的子进程的",
    ),
    (
        "in a pool of 2, {} at a time: {}, each counting its own",
        "在 2 个 worker 的进程池里，每次同时 {} 个：{}，各数各的",
    ),
];
