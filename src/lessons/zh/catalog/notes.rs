//! What lesson 9's check says (`checks/notes.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
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
];
