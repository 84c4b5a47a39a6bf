//! The Chinese edition's messages: each English message of the course (an exercise's
//! title and task, a check's steps, failures and hints) beside its Simplified Chinese form.
//!
//! A key is the English exactly as the code writes it, its format string with every
//! `{name}` written `{}`; the Chinese form fills the same holes in the same order. A test
//! below finds every key in the source, so a message reworded in English shows up here as
//! a key to update, never as a Chinese text that no longer says the same thing. Terms
//! follow the Chinese article the course grows from: worker, 进程池, 响应体, 请求头.

use super::lang::{fill, holes};

/// (English, Chinese).
pub const MESSAGES: &[(&str, &str)] = &[
    // The exercises' titles, as in each lesson's first heading.
    ("Hello, CGI", "你好，CGI"),
    ("The environment", "环境变量"),
    ("Responses and failures", "响应与失败"),
    ("The price of a process", "一个进程的代价"),
    ("The gateway idea", "网关的思路"),
    ("Workers that stay", "常驻的 worker"),
    ("The supervisor's jobs", "进程管理的职责"),
    ("Head to head", "正面比较"),
    ("What a host must refuse", "服务器必须拒绝什么"),
    ("Your Flask app", "你的 Flask 应用"),
    ("The three layers", "三层结构"),
    ("Workers that wait", "等待中的 worker"),
    ("The server calls the app", "服务器调用应用"),
    ("Your app in production", "让你的应用上线"),
    // The exercises' tasks.
    (
        "cgi-bin/me.sh answers 200 text/plain with `Hello from NAME!`",
        "cgi-bin/me.sh 以 200 text/plain 回答 `Hello from NAME!`",
    ),
    (
        "cgi-bin/echo.sh echoes PATH_INFO, QUERY_STRING, an X-Color header and the body",
        "cgi-bin/echo.sh 原样返回 PATH_INFO、QUERY_STRING、请求头 X-Color 和请求体",
    ),
    (
        "cgi-bin/create.sh answers a POST with 201 and a Location, anything else with 405",
        "cgi-bin/create.sh 对 POST 回答 201 和 Location，对其他请求回答 405",
    ),
    (
        "a compiled cgi-bin/hello-cgi answers faster than hello.py",
        "编译出来的 cgi-bin/hello-cgi 比 hello.py 回答得快",
    ),
    (
        "examples/counter.rs serves /app/counter, which counts the requests it has answered",
        "examples/counter.rs 提供 /app/counter，它数着自己回答过多少请求",
    ),
    (
        "cgi-bin/tally_wsgi.py says its pid and how many requests its process has answered",
        "cgi-bin/tally_wsgi.py 说出自己的 pid，以及所在进程回答过多少请求",
    ),
    (
        "cgi-bin/hits_wsgi.py counts every request in $HITS_FILE, across workers that come and go",
        "cgi-bin/hits_wsgi.py 把每个请求都记进 $HITS_FILE，worker 来来去去也不漏",
    ),
    (
        "bench.csv holds a `cgilab bench` run of a CGI script and /app/hello at two concurrencies",
        "bench.csv 存着一次 `cgilab bench` 的结果：一个 CGI 脚本和 /app/hello，两种并发数",
    ),
    (
        "cgi-bin/notes.sh serves a note from $NOTES_DIR and refuses every way out of it",
        "cgi-bin/notes.sh 提供 $NOTES_DIR 里的笔记，并拒绝一切走出这个目录的路径",
    ),
    (
        "cgi-bin/flask_app.py greets /hello/NAME with Flask, the same as CGI and in a pool",
        "cgi-bin/flask_app.py 用 Flask 问候 /hello/NAME，作为 CGI 和在进程池里都一样",
    ),
    (
        "cgi-bin/client-ip.sh names the real client, trusting X-Forwarded-For only from the proxy",
        "cgi-bin/client-ip.sh 说出真正的客户端，只在请求来自代理时才信任 X-Forwarded-For",
    ),
    (
        "cgi-bin/visits_wsgi.py counts visits in SQLite, on one connection kept per worker",
        "cgi-bin/visits_wsgi.py 在 SQLite 里统计访问次数，每个 worker 保持一个连接",
    ),
    (
        "cgi-bin/meet_wsgi.py lets two requests meet: embedded they do, in a pool they cannot",
        "cgi-bin/meet_wsgi.py 让两个请求相遇：嵌入时能遇上，在进程池里遇不上",
    ),
    (
        "deploy.toml deploys shop.py at /shop, its secret key for its pool alone, with no lab routes",
        "deploy.toml 把 shop.py 部署在 /shop，密钥只给它自己的进程池，不开实验室的路由",
    ),
    // What every check says (checks/mod.rs).
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
    // Lesson 1.
    (
        "create it: a `Content-Type: text/plain` line, an empty line, then `Hello from NAME!`",
        "创建它：一行 `Content-Type: text/plain`，一个空行，然后是 `Hello from NAME!`",
    ),
    ("answer with the default status", "用默认的状态码回答"),
    (
        "its Content-Type is `{}`, not text/plain",
        "它的 Content-Type 是 `{}`，不是 text/plain",
    ),
    (
        "print `Content-Type: text/plain` as the header line",
        "把 `Content-Type: text/plain` 作为头部那一行打印出来",
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
    // Lesson 5.
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
    // Lesson 13.
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
    // Lesson 14.
    (
        "lab = false, then [pool.shop] with app = \"{}\", mount = \"/shop\" and env = {{ {} = \"...\" }}",
        "先写 lab = false，再写 [pool.shop]，其中 app = \"{}\"、mount = \"/shop\"、env = {{ {} = \"...\" }}",
    ),
    (
        "cannot run cgilab check-config: {}",
        "无法运行 cgilab check-config：{}",
    ),
    (
        "`cgilab check-config {}` finds errors",
        "`cgilab check-config {}` 发现了错误",
    ),
    (
        "fix each line it names; `cgilab check-config` says what each key takes",
        "逐一改正它指出的每一行；`cgilab check-config` 会说明每个键接受什么",
    ),
    (
        "{} exists, and `cgilab check-config {}` finds no error",
        "{} 存在，`cgilab check-config {}` 没有发现错误",
    ),
    ("{} is not TOML: {}", "{} 不是合法的 TOML：{}"),
    (
        "{} is in the top-level `env` (or `pass_env`): every pool and every script gets it",
        "{} 在顶层的 `env`（或 `pass_env`）里：每个进程池、每个脚本都会拿到它",
    ),
    (
        "move it into [pool.shop]'s own env: env = {{ {} = \"...\" }}",
        "把它移到 [pool.shop] 自己的 env 里：env = {{ {} = \"...\" }}",
    ),
    (
        "{} has no [pool.shop] section",
        "{} 里没有 [pool.shop] 一节",
    ),
    (
        "[pool.shop] gives its workers no {}",
        "[pool.shop] 没有给它的 worker 提供 {}",
    ),
    (
        "add env = {{ {} = \"...\" }} to [pool.shop]",
        "在 [pool.shop] 里加上 env = {{ {} = \"...\" }}",
    ),
    (
        "the key is in [pool.shop] alone, not in the top-level env",
        "密钥只在 [pool.shop] 里，不在顶层的 env 里",
    ),
    (
        "GET {} answered `{}`, without `{}`",
        "GET {} 回答了 `{}`，里面没有 `{}`",
    ),
    (
        "mount = \"/shop\" in [pool.shop]: the prefix becomes the app's SCRIPT_NAME",
        "在 [pool.shop] 里写 mount = \"/shop\"：这个前缀会成为应用的 SCRIPT_NAME",
    ),
    (
        "GET /shop/ is the shop, with its link to /shop/cart",
        "GET /shop/ 是商店首页，带着指向 /shop/cart 的链接",
    ),
    ("GET /shop/cart is the cart", "GET /shop/cart 是购物车"),
    (
        "{} in [pool.shop]'s env, 16 characters or more",
        "把 {} 放在 [pool.shop] 的 env 里，至少 16 个字符",
    ),
    (
        "GET /shop/key answered {}: `{}`",
        "GET /shop/key 回答了 {}：`{}`",
    ),
    (
        "GET /shop/key: the shop's workers have the key",
        "GET /shop/key：商店的 worker 拿到了密钥",
    ),
    ("GET {} shows the key", "GET {} 暴露了密钥"),
    (
        "only the shop's workers may see it: keep it in [pool.shop]'s env",
        "只有商店的 worker 可以看到它：把它留在 [pool.shop] 的 env 里",
    ),
    (
        "GET {} answered {}, not 404: the lab's routes are on",
        "GET {} 回答了 {}，而不是 404：实验室的路由还开着",
    ),
    (
        "lab = false turns off the index page, the built-in apps, /raw and cgi-bin",
        "lab = false 会关掉首页、内置应用、/raw 和 cgi-bin",
    ),
    (
        "{} answer 404, and no answer shows the key",
        "{} 都回答 404，没有一个回答暴露密钥",
    ),
];

/// The Chinese form of the English message `en`, if it has one. When several keys fit
/// (`{} exists` and `{} exists, and ...`), the one with the most fixed text wins.
pub fn message(en: &str) -> Option<String> {
    MESSAGES
        .iter()
        .filter_map(|(key, zh)| Some((key, zh, holes(key, en)?)))
        .max_by_key(|(key, _, found)| key.len() - 2 * found.len())
        .map(|(_, zh, found)| fill(zh, &found))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The string literals of a Rust source file, unescaped, with each `{name}` or
    /// `{:spec}` of a format string written `{}`. Enough for the checks' sources: no raw
    /// strings there.
    fn literals(source: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = source.chars().peekable();
        let mut prev = ' ';
        while let Some(c) = chars.next() {
            // `'"'` is a char, not a string.
            if c != '"' || (prev == '\'' && chars.peek() == Some(&'\'')) {
                prev = c;
                continue;
            }
            let mut s = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('\n') => {
                            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                                chars.next();
                            }
                        }
                        Some(other) => s.push(other),
                        None => {}
                    },
                    _ => s.push(c),
                }
            }
            out.push(holes_written_plainly(&s));
            prev = '"';
        }
        out
    }

    /// `{name}`, `{}` and `{:>2}` become `{}`; `{{` and `}}` stay.
    fn holes_written_plainly(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some(after) = rest.strip_prefix("{{") {
                out.push_str("{{");
                rest = after;
            } else if let Some(end) = rest.find('}') {
                out.push_str("{}");
                rest = &rest[end + 1..];
            } else {
                out.push_str(rest);
                rest = "";
            }
        }
        out + rest
    }

    #[test]
    fn every_key_is_a_message_the_course_still_says() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lessons/checks");
        let mut said = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            said.extend(literals(&source));
        }
        let stale: Vec<&str> = MESSAGES
            .iter()
            .map(|(en, _)| *en)
            .filter(|en| !said.iter().any(|s| s == en))
            .collect();
        assert!(
            stale.is_empty(),
            "these keys of src/lessons/zh.rs are no longer said in src/lessons/checks: \
             update each to the new English and its Chinese to match:\n{}",
            stale.join("\n")
        );
    }

    #[test]
    fn each_chinese_form_has_the_holes_of_its_english() {
        for (en, zh) in MESSAGES {
            assert_eq!(
                en.matches("{}").count(),
                zh.matches("{}").count(),
                "`{en}` and `{zh}`"
            );
        }
    }

    #[test]
    fn a_message_is_found_through_its_format_string() {
        assert_eq!(
            message("cgi-bin/me.sh does not exist").as_deref(),
            Some("cgi-bin/me.sh 不存在")
        );
        assert_eq!(
            message("GET / answered 200 OK, not 404: the lab's routes are on").as_deref(),
            Some("GET / 回答了 200 OK，而不是 404：实验室的路由还开着")
        );
        assert_eq!(
            message("deploy.toml exists, and `cgilab check-config deploy.toml` finds no error")
                .as_deref(),
            Some("deploy.toml 存在，`cgilab check-config deploy.toml` 没有发现错误")
        );
        assert_eq!(message("something no check says"), None);
    }
}
