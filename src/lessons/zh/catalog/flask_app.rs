//! What lesson 10's check says (`checks/flask_app.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
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
];
