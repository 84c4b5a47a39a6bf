//! Lesson 14 (Your app in production): the check of its exercise.

use super::*;

/// The learner's config file, at the repository's root.
const FILE: &str = "deploy.toml";
/// The app it deploys.
const APP: &str = "lessons/14-your-app-in-production/shop.py";
/// The variable that holds the app's key.
const KEY: &str = "SHOP_SECRET_KEY";

pub(super) fn deploy(c: &mut Check) -> Result<(), Failure> {
    let hint = format!(
        "lab = false, then [pool.shop] with app = \"{APP}\", mount = \"/shop\" and env = {{ {KEY} = \"...\" }}"
    );
    let file = c.opts.workdir.join(FILE);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Err(fail(format!("{FILE} does not exist"), hint));
    };
    let checked = Command::new(&c.opts.cgilab)
        .args(["check-config", FILE])
        .current_dir(&c.opts.workdir)
        .output()
        .map_err(|e| fail(format!("cannot run cgilab check-config: {e}"), ""))?;
    if !checked.status.success() {
        return Err(Failure {
            what: format!("`cgilab check-config {FILE}` finds errors"),
            details: String::from_utf8_lossy(&checked.stderr)
                .lines()
                .map(String::from)
                .collect(),
            hint: "fix each line it names; `cgilab check-config` says what each key takes".into(),
        });
    }
    c.pass(format!(
        "{FILE} exists, and `cgilab check-config {FILE}` finds no error"
    ));

    // Where the key is: in the shop's section, and nowhere every pool and script reads.
    let table: toml::Table = text
        .parse()
        .map_err(|e| fail(format!("{FILE} is not TOML: {e}"), hint.clone()))?;
    let has_key = |env: Option<&toml::Value>| {
        env.and_then(toml::Value::as_table)
            .is_some_and(|t| t.contains_key(KEY))
    };
    let passes_key = table
        .get("pass_env")
        .and_then(toml::Value::as_array)
        .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(KEY)));
    if has_key(table.get("env")) || passes_key {
        return Err(fail(
            format!(
                "{KEY} is in the top-level `env` (or `pass_env`): every pool and every script gets it"
            ),
            format!("move it into [pool.shop]'s own env: env = {{ {KEY} = \"...\" }}"),
        ));
    }
    let shop = table
        .get("pool")
        .and_then(|p| p.get("shop"))
        .and_then(toml::Value::as_table);
    let Some(shop) = shop else {
        return Err(fail(format!("{FILE} has no [pool.shop] section"), hint));
    };
    let secret = shop
        .get("env")
        .and_then(|e| e.get(KEY))
        .and_then(toml::Value::as_str)
        .unwrap_or("")
        .to_string();
    if secret.is_empty() {
        return Err(fail(
            format!("[pool.shop] gives its workers no {KEY}"),
            format!("add env = {{ {KEY} = \"...\" }} to [pool.shop]"),
        ));
    }
    c.pass("the key is in [pool.shop] alone, not in the top-level env");

    let server = c.serve(&["--config".into(), FILE.into()])?;
    let shop_page = |c: &Check, target: &str, want: &str, hint: &str| {
        let req = Req::get(target);
        let resp = c.fetch(&server, &req, "shop")?;
        c.expect_status(&server, &req, &resp, "shop", 200, hint)?;
        if !resp.text().contains(want) {
            return Err(Failure {
                what: format!(
                    "GET {target} answered `{}`, without `{want}`",
                    resp.text().trim_end().escape_debug()
                ),
                details: logged(&server, "shop"),
                hint: hint.into(),
            });
        }
        Ok(resp)
    };
    let mount_hint = "mount = \"/shop\" in [pool.shop]: the prefix becomes the app's SCRIPT_NAME";
    shop_page(c, "/shop/", "cart: /shop/cart", mount_hint)?;
    c.pass("GET /shop/ is the shop, with its link to /shop/cart");
    shop_page(c, "/shop/cart", "the cart is empty", mount_hint)?;
    c.pass("GET /shop/cart is the cart");
    let key_hint = format!("{KEY} in [pool.shop]'s env, 16 characters or more");
    let req = Req::get("/shop/key");
    let resp = c.fetch(&server, &req, "shop")?;
    if resp.status != 200 {
        return Err(Failure {
            what: format!(
                "GET /shop/key answered {}: `{}`",
                resp.status_line(),
                resp.text().trim_end().escape_debug()
            ),
            details: logged(&server, "shop"),
            hint: key_hint,
        });
    }
    c.pass("GET /shop/key: the shop's workers have the key");

    let lab = ["/", "/cgi-bin/printenv.sh", "/app/printenv", "/raw"];
    for target in lab {
        let req = Req::get(target);
        let resp = c.fetch(&server, &req, "shop")?;
        if resp.text().contains(&secret) {
            return Err(fail(
                format!("GET {target} shows the key"),
                "only the shop's workers may see it: keep it in [pool.shop]'s env",
            ));
        }
        if resp.status != 404 {
            return Err(fail(
                format!(
                    "GET {target} answered {}, not 404: the lab's routes are on",
                    resp.status_line()
                ),
                "lab = false turns off the index page, the built-in apps, /raw and cgi-bin",
            ));
        }
    }
    c.pass(format!(
        "{} answer 404, and no answer shows the key",
        lab.join(", ").replacen(", /raw", " and /raw", 1)
    ));
    Ok(())
}
