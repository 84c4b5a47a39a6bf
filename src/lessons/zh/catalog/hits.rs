//! What lesson 7's check says (`checks/hits.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "keep the count in the file $HITS_FILE, not in memory: open it, take a lock (fcntl.flock), read, add one, write, then answer `hits N`",
        "把计数放在文件 $HITS_FILE 里，而不是内存里：打开它，加锁（fcntl.flock），读出，加一，写回，再回答 `hits N`",
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
];
