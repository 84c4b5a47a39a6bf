//! The exercises' titles, as in each lesson's first heading, and their tasks.

pub const MESSAGES: &[(&str, &str)] = &[
    // The titles.
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
    // The tasks.
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
];
