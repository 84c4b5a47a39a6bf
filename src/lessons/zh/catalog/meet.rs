//! What lesson 13's check says (`checks/meet.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "keep who waits in a global, guarded by a threading.Lock: the first request leaves its name and a threading.Event there and waits on the event (at most 2 s); the second takes them, leaves its own name and sets the event; each answers `NAME met OTHER`, or `nobody came for NAME`",
        "把“谁在等”放在一个全局变量里，用 threading.Lock 保护：第一个请求在那里留下自己的名字和一个 threading.Event，然后等这个事件（最多 2 秒）；第二个请求取走它们，留下自己的名字，再 set 这个事件；两者各自回答 `NAME met OTHER`，或者 `nobody came for NAME`",
    ),
    (
        "this cgilab was built without embedded Python",
        "这个 cgilab 编译时没有带上嵌入式 Python",
    ),
    (
        "build it with `cargo build --release --features python` (on Debian, `apt-get install python3-dev` first), as this lesson's first step does",
        "像本课第一步那样，用 `cargo build --release --features python` 编译（在 Debian 上先运行 `apt-get install python3-dev`）",
    ),
    (
        "GET /wsgi/meet?{}, at once with ?{}, says {}, not `{}`",
        "GET /wsgi/meet?{} 与 ?{} 同时发出，回答是 {}，而不是 `{}`",
    ),
    (
        "embedded, two requests at once meet: `{} met {}` and `{} met {}`",
        "嵌入模式下，同时到达的两个请求相遇了：`{} met {}` 和 `{} met {}`",
    ),
    (
        "{} requests at once: GET /wsgi/meet?{} says {}",
        "{} 个请求同时发出：GET /wsgi/meet?{} 的回答是 {}",
    ),
    (
        "take the lock around looking at and changing who waits: without it, two requests can both find nobody waiting, or both take the same one",
        "查看和修改“谁在等”时都要持有锁：没有锁，两个请求可能都发现没人在等，或者都取走了同一个",
    ),
    (
        "{} requests at once: {} says it met {}, but {} met {}",
        "{} 个请求同时发出：{} 说它遇到了 {}，但 {} 遇到的是 {}",
    ),
    (
        "the second request must take the first one's place in a single step, under the lock",
        "第二个请求必须在锁内一步取代第一个请求的位置",
    ),
    (
        "embedded, {} requests at once: each met one other, who met it back",
        "嵌入模式下，{} 个请求同时发出：每个都遇到了另一个，对方也遇到了它",
    ),
    (
        "GET /pool/meet?{} says {}, not `{}`",
        "GET /pool/meet?{} 的回答是 {}，而不是 `{}`",
    ),
    (
        "wait at most 2 seconds, then answer `nobody came for NAME`",
        "最多等 2 秒，然后回答 `nobody came for NAME`",
    ),
    (
        "in a pool of 2 workers, two requests at once wait in two processes: `nobody came for {}`, `nobody came for {}`",
        "在 2 个 worker 的进程池里，同时到达的两个请求在两个进程里各等各的：`nobody came for {}`、`nobody came for {}`",
    ),
];
