//! What lesson 12's check says (`checks/visits.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
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
