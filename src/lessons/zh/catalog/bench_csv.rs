//! What lesson 8's check says (`checks/bench_csv.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
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
];
