//! The catalog: each English message of the course beside its Chinese form, grouped as
//! the course meets them (the exercises' titles and tasks, what every check says, then
//! lesson by lesson). [`super::message`] looks a message up here.

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
    // Lessons 2 to 4 and 6 to 12.
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
    (
        "answer a POST with `Status: 201 Created` and a `Location:` line",
        "对 POST 回答 `Status: 201 Created` 和一行 `Location:`",
    ),
    (
        "POST {} answered {}, not 201: the server followed its Location, {}, as a GET",
        "POST {} 回答了 {}，而不是 201：服务器把它的 Location，{}，当作一个 GET 跟了过去",
    ),
    (
        "a Location that is only a path, with no Status, is a local redirect (RFC 3875 §6.2.2): the server serves {} in the script's place, with a GET, and that GET's answer is what came back; print `Status: 201 Created` before the Location",
        "只有路径、没有 Status 的 Location 是本地重定向（RFC 3875 §6.2.2）：服务器用一个 GET 提供 {} 来代替脚本，回来的是那个 GET 的回答；在 Location 之前打印 `Status: 201 Created`",
    ),
    (
        "a Location without a Status is a redirect: print `Status: 201 Created` too",
        "没有 Status 的 Location 就是重定向：还要打印 `Status: 201 Created`",
    ),
    (
        "print `Status: 201 Created` among the header lines",
        "在头部各行里打印 `Status: 201 Created`",
    ),
    (
        "a POST is the one method to accept: compare $REQUEST_METHOD with POST (and print `Status: 201 Created`: without it, a Location that is only a path is followed by the server as a GET)",
        "POST 是唯一要接受的方法：拿 $REQUEST_METHOD 和 POST 比较（并打印 `Status: 201 Created`：没有它，只有路径的 Location 会被服务器当作 GET 跟过去）",
    ),
    (
        "print `Status: 201 Created` and `Location: /cgi-bin/...` for a POST",
        "对 POST 打印 `Status: 201 Created` 和 `Location: /cgi-bin/...`",
    ),
    (
        "POST {} answered 201 with no Location",
        "POST {} 回答了 201，但没有 Location",
    ),
    (
        "print `Location: /cgi-bin/create.sh/1` (where the new thing lives) with the Status",
        "和 Status 一起打印 `Location: /cgi-bin/create.sh/1`（新东西所在的位置）",
    ),
    (
        "POST {} answers 201 Created, Location {}",
        "POST {} 回答 201 Created，Location {}",
    ),
    (
        "answer every method but POST with `Status: 405 Method Not Allowed`",
        "对 POST 以外的所有方法回答 `Status: 405 Method Not Allowed`",
    ),
    (
        "{} {} answered 405 with Allow `{}`",
        "{} {} 回答了 405，Allow 是 `{}`",
    ),
    (
        "a 405 must say what is allowed, and only POST is: print `Allow: POST`",
        "405 必须说明允许什么，而允许的只有 POST：打印 `Allow: POST`",
    ),
    (
        "GET and PUT {} answer 405, Allow: POST",
        "GET 和 PUT {} 回答 405，Allow: POST",
    ),
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
    ("worker {} answered {}", "worker {} 回答了 {}"),
    (
        "in a pool of 2, {} at a time: {}, each counting its own",
        "在 2 个 worker 的进程池里，每次同时 {} 个：{}，各数各的",
    ),
    (
        "GET {} answered `{}`, not the lines {}",
        "GET {} 回答了 `{}`，而不是这几行：{}",
    ),
    (
        "keep the count in the file $HITS_FILE, not in memory: open it, take a lock (fcntl.flock), read, add one, write, then answer `hits N`",
        "把计数放在文件 $HITS_FILE 里，而不是内存里：打开它，加锁（fcntl.flock），读出，加一，写回，再回答 `hits N`",
    ),
    (
        "cannot make a temporary directory: {}",
        "无法创建临时目录：{}",
    ),
    (
        "request {} to {} says `hits {}`, not `hits {}`",
        "第 {} 个请求（发往 {}）说 `hits {}`，而不是 `hits {}`",
    ),
    (
        "a worker's memory goes with it: --max-requests 3 replaces each worker after 3 requests; count in $HITS_FILE",
        "worker 的内存随它而去：--max-requests 3 让每个 worker 在 3 个请求之后被替换；在 $HITS_FILE 里计数",
    ),
    (
        "add one per request, and start from 0 when $HITS_FILE does not exist yet",
        "每个请求加一，$HITS_FILE 还不存在时从 0 开始",
    ),
    (
        "{} requests in turn, through workers replaced every 3 (--max-requests 3): hits 1 to {}",
        "依次发出 {} 个请求，worker 每 3 个请求换一次（--max-requests 3）：hits 1 到 {}",
    ),
    (
        "after a restart of the server, {} says `hits {}`, not `hits {}`",
        "服务器重启之后，{} 说 `hits {}`，而不是 `hits {}`",
    ),
    (
        "a worker's memory goes with it, and a restart takes every worker: keep the count in $HITS_FILE",
        "worker 的内存随它而去，而重启会带走所有 worker：把计数放在 $HITS_FILE 里",
    ),
    (
        "add one per request to the count in $HITS_FILE",
        "每个请求给 $HITS_FILE 里的计数加一",
    ),
    (
        "after a restart, with every worker new: hits {}",
        "重启之后，worker 全是新的：hits {}",
    ),
    ("GET {}, {} at a time: {}", "GET {}，每次同时 {} 个：{}"),
    (
        "two workers read and wrote the count at the same moment: hold an exclusive fcntl.flock on the file from the read to the write, and empty it only while you hold the lock (open(path, \"w\") empties it before you can lock it)",
        "两个 worker 在同一时刻读写了计数：从读到写都要对文件持有排他的 fcntl.flock，并且只在持锁时清空文件（open(path, \"w\") 会在你加锁之前就清空它）",
    ),
    (
        "{} requests, {} at a time: {} of the counts {} to {} never came, and {} came more than once ({})",
        "{} 个请求，每次同时 {} 个：计数中有 {} 个（在 {} 到 {} 之间）从未出现，{} 个出现了不止一次（{}）",
    ),
    (
        "{} requests, {} at a time, on 2 workers: hits {} to {}, none lost, none twice",
        "{} 个请求，每次同时 {} 个，2 个 worker：hits {} 到 {}，一个没丢，一个没重",
    ),
    (
        "GET {} answered `{}`, not `hits N`",
        "GET {} 回答了 `{}`，而不是 `hits N`",
    ),
    (
        "save a run: cgilab bench --cgi-bin cgi-bin --targets /cgi-bin/hello.pl,/app/hello --concurrency 1,8 --format csv > bench.csv (it starts a server of its own on your cgi-bin; with --url http://127.0.0.1:8000 it loads your running one)",
        "保存一次运行：cgilab bench --cgi-bin cgi-bin --targets /cgi-bin/hello.pl,/app/hello --concurrency 1,8 --format csv > bench.csv（它会用你的 cgi-bin 启动一个自己的服务器；加上 --url http://127.0.0.1:8000 则给你正在运行的那个加压）",
    ),
    (
        "bench.csv is not the output of `cgilab bench --format csv`",
        "bench.csv 不是 `cgilab bench --format csv` 的输出",
    ),
    (
        "bench.csv holds {} runs of cgilab bench",
        "bench.csv 里有 {} 次 cgilab bench 运行",
    ),
    (
        "bench.csv needs a /cgi-bin/ script and /app/hello, both at the same two or more concurrencies",
        "bench.csv 需要一个 /cgi-bin/ 脚本和 /app/hello，两者都在相同的两种或更多并发数下",
    ),
    (
        "{} at concurrency {} answered {} requests with errors: its times are the failures'",
        "{} 在并发数 {} 下有 {} 个请求出错：它的时间是这些失败请求的时间",
    ),
    (
        "the bench printed why (`bench: ...` lines): a 404 means its server has no such script; pass --cgi-bin cgi-bin, or --url for your running server, and bench again",
        "bench 打印了原因（`bench: ...` 那几行）：404 表示它的服务器没有这个脚本；加上 --cgi-bin cgi-bin，或用 --url 指向你正在运行的服务器，再跑一次 bench",
    ),
    (
        "{} at concurrency {} answered no request",
        "{} 在并发数 {} 下一个请求也没有回答",
    ),
    (
        "with --url, was that server running? And does the script answer 200? bench again",
        "用了 --url 的话，那个服务器在运行吗？脚本回答的是 200 吗？再跑一次 bench",
    ),
    (
        "at concurrency {}: {} {} ms a request, /app/hello {} ms; the gateway answers {}x as many per second",
        "并发数 {}：{} 每个请求 {} ms，/app/hello {} ms；网关每秒回答的请求是它的 {} 倍",
    ),
    (
        "start from lessons/09-what-a-host-must-refuse/naive-notes.sh",
        "从 lessons/09-what-a-host-must-refuse/naive-notes.sh 开始",
    ),
    ("cannot write {}: {}", "无法写入 {}：{}"),
    (
        "print the note with the default status",
        "用默认状态码打印笔记",
    ),
    (
        "GET {}: the body is `{}`, expected `{}`",
        "GET {}：响应体是 `{}`，应该是 `{}`",
    ),
    (
        "print the file $NOTES_DIR/NAME, where NAME comes from the query `name=NAME`",
        "打印文件 $NOTES_DIR/NAME，NAME 来自查询字符串 `name=NAME`",
    ),
    (
        "it serves the notes in $NOTES_DIR",
        "它提供了 $NOTES_DIR 里的笔记",
    ),
    (
        "GET {} leaked the file next to $NOTES_DIR",
        "GET {} 泄露了 $NOTES_DIR 旁边的文件",
    ),
    (
        "refuse any name that contains `/` or `..` before you build a path from it",
        "用名字拼路径之前，先拒绝任何含有 `/` 或 `..` 的名字",
    ),
    ("GET {} answered {}", "GET {} 回答了 {}"),
    (
        "answer a name that contains `/` or `..` with `Status: 403 Forbidden`",
        "对含有 `/` 或 `..` 的名字回答 `Status: 403 Forbidden`",
    ),
    (
        "a way out is refused: ?name={} answered {}",
        "走出目录的路被拒绝了：?name={} 回答了 {}",
    ),
    (
        "answer a note that does not exist with `Status: 404 Not Found`",
        "对不存在的笔记回答 `Status: 404 Not Found`",
    ),
    ("a missing note is 404", "不存在的笔记是 404"),
    (
        "app = Flask(__name__), a route @app.get(\"/hello/<name>\") returning f\"Hello, {}!\\n\", and under `if __name__ == \"__main__\":` wsgiref's CGIHandler().run(app)",
        "app = Flask(__name__)，一个路由 @app.get(\"/hello/<name>\")，返回 f\"Hello, {}!\\n\"，并在 `if __name__ == \"__main__\":` 下运行 wsgiref 的 CGIHandler().run(app)",
    ),
    (
        "is Flask installed for the python3 that runs it? lesson 10 makes .venv with it",
        "运行它的 python3 装了 Flask 吗？第 10 课会建一个带 Flask 的 .venv",
    ),
    (
        "GET {} answered `{}`, expected `{}`",
        "GET {} 回答了 `{}`，应该是 `{}`",
    ),
    (
        "{}, GET {} says `Hello, {}!` as text/plain in {} ms",
        "{}，GET {} 以 text/plain 说 `Hello, {}!`，用时 {} ms",
    ),
    (
        "leave unknown paths to Flask: it answers 404 itself",
        "把未知的路径交给 Flask：它自己会回答 404",
    ),
    ("GET {} is Flask's own 404", "GET {} 是 Flask 自己的 404"),
    (
        "the pool answered in 1/{} of the CGI time: Python and Flask were already loaded",
        "进程池只用了 CGI 时间的 1/{}：Python 和 Flask 早已加载好了",
    ),
    (
        "print $REMOTE_ADDR, or the last address of $HTTP_X_FORWARDED_FOR when REMOTE_ADDR is 127.0.0.2, the proxy's",
        "打印 $REMOTE_ADDR；当 REMOTE_ADDR 是代理的地址 127.0.0.2 时，打印 $HTTP_X_FORWARDED_FOR 里的最后一个地址",
    ),
    (
        "with no X-Forwarded-For, print $REMOTE_ADDR",
        "没有 X-Forwarded-For 时，打印 $REMOTE_ADDR",
    ),
    (
        "from the proxy (REMOTE_ADDR 127.0.0.2), the client is in $HTTP_X_FORWARDED_FOR",
        "来自反向代理（REMOTE_ADDR 是 127.0.0.2）时，客户端在 $HTTP_X_FORWARDED_FOR 里",
    ),
    (
        "take the last address: the one your proxy added; the ones before it came from the client and can be made up",
        "取最后一个地址：那是你的代理加上的；它前面的都来自客户端，可以随便编",
    ),
    (
        "127.0.0.1 is you, or any program on this machine, not the proxy: ignore the header and print $REMOTE_ADDR",
        "127.0.0.1 是你自己，或者这台机器上的任何一个程序，而不是代理：忽略这个头部，打印 $REMOTE_ADDR",
    ),
    (
        "trust the header only from the proxy's own address, 127.0.0.2: from any other, print $REMOTE_ADDR",
        "只信任来自代理自己地址 127.0.0.2 的这个头部：来自其他任何地址时，打印 $REMOTE_ADDR",
    ),
    (
        "{}: it says `{}`, expected `{}`",
        "{}：它说的是 `{}`，应该是 `{}`",
    ),
    (
        "open sqlite3.connect(os.environ[\"VISITS_DB\"]) on the first request, keep it in a global, and count in another global each time you connect; on every request insert a row (with conn: ...), then answer `pid PID`, `connects N` and `visits N`, the rows in the table",
        "在第一个请求时打开 sqlite3.connect(os.environ[\"VISITS_DB\"])，放进一个全局变量，每连接一次就在另一个全局变量里计数；每个请求插入一行（with conn: ...），再回答 `pid PID`、`connects N` 和 `visits N`（表里的行数）",
    ),
    (
        "GET {} says `connects {}`; a CGI process serves one request, for which it connects once",
        "GET {} 说 `connects {}`；一个 CGI 进程只服务一个请求，为此连接一次",
    ),
    (
        "add one to the count each time your app calls sqlite3.connect, and only then",
        "只在你的应用调用 sqlite3.connect 时给计数加一",
    ),
    (
        "as CGI, each request is a new process (pid {}, then {}) that connects: `connects 1`, visits {} and {}",
        "作为 CGI，每个请求都是一个新进程（pid {}，然后 {}），各连接一次：`connects 1`，visits {} 和 {}",
    ),
    (
        "GET {}: worker {} says `connects {}` at its request {}; a worker connects once and keeps the connection",
        "GET {}：worker {} 说 `connects {}`，这是它的第 {} 个请求；一个 worker 只连接一次并保持连接",
    ),
    (
        "keep the connection in a global (connection = None at the top), connect only while it is None, and never close it",
        "把连接放在一个全局变量里（开头写 connection = None），只在它是 None 时连接，并且永不关闭",
    ),
    (
        "in a pool of 2, {} requests ({}): visits {} to {}, `connects 1` every time",
        "在 2 个 worker 的进程池里，{} 个请求（{}）：visits {} 到 {}，每次都是 `connects 1`",
    ),
    (
        "between requests, worker {} has {} descriptors open on $VISITS_DB, not 1: {}",
        "请求之间，worker {} 在 $VISITS_DB 上开着 {} 个描述符，而不是 1 个：{}",
    ),
    ("it does not keep its connection", "它没有保持连接"),
    (
        "it opened new connections and kept the old ones too",
        "它打开了新连接，旧的也还留着",
    ),
    (
        "one connection per process: open it once, keep it in a global, reuse it for every request, and do not close it",
        "每个进程一个连接：打开一次，放进全局变量，每个请求都复用它，不要关闭",
    ),
    (
        "between requests, each worker keeps its one connection open: one descriptor on $VISITS_DB in /proc/PID/fd of {}",
        "请求之间，每个 worker 都开着它唯一的连接：{} 的 /proc/PID/fd 里各有一个指向 $VISITS_DB 的描述符",
    ),
    (
        "GET {} says `visits {}` after `visits {}`",
        "GET {} 说 `visits {}`，而上一次是 `visits {}`",
    ),
    (
        "count the rows of the table in $VISITS_DB (SELECT COUNT(*)), after inserting this visit's row and committing it; a count in memory starts again in every process",
        "在插入这次访问的那一行并提交之后，数一数 $VISITS_DB 里那张表的行数（SELECT COUNT(*)）；内存里的计数在每个进程里都会从头开始",
    ),
    (
        "insert one row per request, and count the rows after the insert",
        "每个请求插入一行，插入之后再数行数",
    ),
];
