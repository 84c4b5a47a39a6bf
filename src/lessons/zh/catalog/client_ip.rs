//! What lesson 11's check says (`checks/client_ip.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
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
];
