//! What lesson 3's check says (`checks/create.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
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
];
