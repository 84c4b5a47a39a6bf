//! What lesson 14's check says (`checks/deploy.rs`).

pub const MESSAGES: &[(&str, &str)] = &[
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
