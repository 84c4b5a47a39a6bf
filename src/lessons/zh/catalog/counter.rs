//! What lesson 5's check says (`checks/counter.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "start from a copy of examples/custom_app.rs: `cp examples/custom_app.rs examples/counter.rs`",
        "从 examples/custom_app.rs 的一份拷贝开始：`cp examples/custom_app.rs examples/counter.rs`",
    ),
    (
        "fix what the compiler says; `cargo build --example counter` shows it too",
        "按编译器说的去改；`cargo build --example counter` 也会显示同样的信息",
    ),
    (
        "like custom_app.rs, take the address from the first argument and call `server.run()`",
        "像 custom_app.rs 那样，从第一个参数取地址，然后调用 `server.run()`",
    ),
    (
        "examples/counter.rs did not build, or did not start listening",
        "examples/counter.rs 没能编译，或者没有开始监听",
    ),
    ("it listens on {}", "它在 {} 上监听"),
    ("GET /app/counter answered {}", "GET /app/counter 回答了 {}"),
    (
        "register the app under the name `counter`: `.with(\"counter\", counter)`",
        "以 `counter` 为名注册这个应用：`.with(\"counter\", counter)`",
    ),
    (
        "GET /app/counter was not answered by an in-process app",
        "回答 GET /app/counter 的不是进程内的应用",
    ),
    (
        "serve it as a gateway app (Apps::with), not as a script",
        "把它作为网关应用（Apps::with）提供，而不是作为脚本",
    ),
    (
        "answer `count N`, where N is how many requests the app has answered",
        "回答 `count N`，N 是这个应用回答过的请求数",
    ),
    (
        "count the request being answered too: `fetch_add` returns the value before the add, so answer that plus one",
        "正在回答的这个请求也要算上：`fetch_add` 返回的是加之前的值，所以要回答它加一",
    ),
    (
        "start the count at 0, so that a fresh server answers `count 1`, then `count 2`",
        "计数从 0 开始，这样刚启动的服务器先回答 `count 1`，再回答 `count 2`",
    ),
    (
        "keep the count in an AtomicU64 that outlives the calls, and add one per call",
        "把计数放在一个比每次调用活得更久的 AtomicU64 里，每次调用加一",
    ),
    (
        "two requests in a row answered count {} then count {}, not count 1 then count 2",
        "连续两个请求先后回答了 count {} 和 count {}，而不是 count 1 和 count 2",
    ),
    (
        "GET /app/counter twice: count {}, then count {}",
        "两次 GET /app/counter：先是 count {}，然后是 count {}",
    ),
];
