//! The two editions in step: a Chinese page (`README.zh.md`) holds the same blocks the
//! runner uses as its English page (`README.md`), byte for byte and in the same order:
//! every console block (skipped ones too), log block and file block. Only the prose
//! around them is Chinese, so a command that changes in one edition changes in both or
//! this test fails. A lesson's Chinese page has the lesson's Chinese title and sections.

use crate::support::{Block, blocks, chinese, chinese_pages, root};

/// The sections of a lesson in Chinese, as `SECTIONS` in course.rs has them in English.
const SECTIONS_ZH: [&str; 6] = [
    "## 目标",
    "## 思路",
    "## 步骤",
    "## 刚才发生了什么",
    "## 练习",
    "## 检查",
];

/// The blocks the runner uses: what the learner runs, the log, and the files written.
fn runnable(page: &str) -> Vec<Block> {
    blocks(page)
        .into_iter()
        .filter(|b| {
            let lang = b.info.split_whitespace().next().unwrap_or("");
            lang == "console" || lang == "log" || b.info.contains("file=")
        })
        .collect()
}

/// Where the Chinese page `zh_rel` first differs from the English page `en_rel`, if it
/// does: the block (with its line on each page) and the first line that differs.
fn first_difference(en_rel: &str, en: &str, zh_rel: &str, zh: &str) -> Option<String> {
    let (en_blocks, zh_blocks) = (runnable(en), runnable(zh));
    for (i, (e, z)) in en_blocks.iter().zip(&zh_blocks).enumerate() {
        let at = format!("block {} ({zh_rel}:{}, {en_rel}:{})", i + 1, z.line, e.line);
        if e.info != z.info {
            return Some(format!(
                "{at}: its fence says ```{} in Chinese, ```{} in English",
                z.info, e.info
            ));
        }
        let differs = (0..e.text.len().max(z.text.len())).find(|&n| e.text.get(n) != z.text.get(n));
        if let Some(n) = differs {
            let shown =
                |l: Option<&String>| l.map_or("(no line)".to_string(), |l| format!("`{l}`"));
            return Some(format!(
                "{at}, line {} of the block ({zh_rel}:{}): the Chinese page has {}, the English page {}",
                n + 1,
                z.line + 1 + n,
                shown(z.text.get(n)),
                shown(e.text.get(n))
            ));
        }
    }
    if en_blocks.len() != zh_blocks.len() {
        let (more, extra) = if en_blocks.len() > zh_blocks.len() {
            (en_rel, &en_blocks[zh_blocks.len()])
        } else {
            (zh_rel, &zh_blocks[en_blocks.len()])
        };
        return Some(format!(
            "{zh_rel} has {} runnable blocks, {en_rel} {}; the first one only {more} has is at {more}:{}",
            zh_blocks.len(),
            en_blocks.len(),
            extra.line
        ));
    }
    None
}

/// With `UPDATE_CHINESE_BLOCKS=1` in its environment, this test copies each English
/// page's blocks into its Chinese page instead of failing, as long as both pages have as
/// many blocks (a block added or removed needs its Chinese prose, written by hand).
#[test]
fn each_chinese_page_has_its_english_pages_blocks() {
    let update = std::env::var_os("UPDATE_CHINESE_BLOCKS").is_some();
    let mut problems = Vec::new();
    for zh_rel in chinese_pages() {
        let en_rel = zh_rel.replace(".zh.md", ".md");
        let en = std::fs::read_to_string(root().join(&en_rel)).unwrap();
        let zh = std::fs::read_to_string(root().join(&zh_rel)).unwrap();
        let Some(problem) = first_difference(&en_rel, &en, &zh_rel, &zh) else {
            continue;
        };
        match copy_blocks(&en, &zh) {
            Some(copied) if update => std::fs::write(root().join(&zh_rel), copied).unwrap(),
            _ => problems.push(format!(
                "{problem}\n  (copy the block from {en_rel}: the blocks are the same in both editions; \
                 UPDATE_CHINESE_BLOCKS=1 cargo test --test lessons -- editions copies every block \
                 when both pages have as many)"
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The Chinese page `zh` with each runnable block replaced by the English page's, or
/// `None` when the two do not have as many.
fn copy_blocks(en: &str, zh: &str) -> Option<String> {
    let (en_blocks, zh_blocks) = (runnable(en), runnable(zh));
    if en_blocks.len() != zh_blocks.len() {
        return None;
    }
    let en_lines: Vec<&str> = en.lines().collect();
    let mut lines: Vec<&str> = zh.lines().collect();
    // From the last block up, so the earlier blocks' lines stay where they are.
    for (e, z) in en_blocks.iter().zip(&zh_blocks).rev() {
        // From the opening fence to the closing one.
        let from = |b: &Block| b.line - 1..b.line + b.text.len() + 1;
        lines.splice(from(z), en_lines[from(e)].iter().copied());
    }
    let end = if zh.ends_with('\n') { "\n" } else { "" };
    Some(lines.join("\n") + end)
}

#[test]
fn a_changed_command_is_named_by_block_and_line() {
    let en = "# T\n\ntext\n\n```console\n$ curl -i x\nHTTP/1.1 200 OK\n```\n\n```log\nline\n```\n";
    let same = "# 标题\n\n中文\n\n```console\n$ curl -i x\nHTTP/1.1 200 OK\n```\n\n更多中文\n\n```log\nline\n```\n";
    assert_eq!(first_difference("en.md", en, "zh.md", same), None);
    let changed = same.replace("$ curl -i x", "$ curl -si x");
    let problem = first_difference("en.md", en, "zh.md", &changed).unwrap();
    assert!(
        problem.starts_with("block 1 (zh.md:5, en.md:5), line 1 of the block (zh.md:6)"),
        "{problem}"
    );
    let fewer = same.replace("```log\nline\n```\n", "");
    let problem = first_difference("en.md", en, "zh.md", &fewer).unwrap();
    assert!(
        problem.contains("the first one only en.md has is at en.md:10"),
        "{problem}"
    );
    let copied = copy_blocks(en, &changed).unwrap();
    assert_eq!(copied, same);
    assert_eq!(copy_blocks(en, &fewer), None);
    let fence = same.replace("```log", "```log any-order");
    let problem = first_difference("en.md", en, "zh.md", &fence).unwrap();
    assert!(problem.contains("its fence says"), "{problem}");
}

#[test]
fn each_chinese_lesson_has_its_title_and_sections() {
    let mut problems = Vec::new();
    for zh_rel in chinese_pages() {
        let Some(dir) = zh_rel
            .strip_prefix("lessons/")
            .and_then(|r| r.strip_suffix("/README.zh.md"))
        else {
            continue;
        };
        let n = cgilab::lessons::lesson_number(dir).unwrap();
        let text = std::fs::read_to_string(root().join(&zh_rel)).unwrap();
        if let Some(e) = cgilab::lessons::EXERCISES.iter().find(|e| e.lesson == n) {
            let want = format!("# 第 {n} 课：{}", cgilab::lessons::Lang::Zh.say(e.title));
            if text.lines().next() != Some(want.as_str()) {
                problems.push(format!(
                    "{zh_rel}: the first line must be `{want}` (the title `cgilab lessons --lang zh` shows, from src/lessons/zh/catalog/exercises.rs)"
                ));
            }
        }
        let mut at = 0;
        for section in SECTIONS_ZH {
            match text.lines().skip(at).position(|l| l.trim() == section) {
                Some(i) => at += i + 1,
                None => problems.push(format!(
                    "{zh_rel}: no `{section}` heading (after the ones before it); a Chinese lesson has {} in that order",
                    SECTIONS_ZH.join(", ")
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The Chinese index links every lesson: its Chinese page where there is one, else its
/// English page.
#[test]
fn the_chinese_index_links_every_lesson() {
    let Ok(index) = std::fs::read_to_string(root().join("lessons/README.zh.md")) else {
        return;
    };
    let mut problems = Vec::new();
    for page in crate::support::pages() {
        let Some(rel) = page.strip_prefix("lessons/").filter(|r| r.contains('/')) else {
            continue;
        };
        let zh = chinese(rel);
        let want = if root().join("lessons").join(&zh).is_file() {
            zh
        } else {
            rel.to_string()
        };
        if !index.contains(&format!("({want})")) {
            problems.push(format!("lessons/README.zh.md does not link {want}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `cgilab lessons` in the real binary: the language `--lang` or the locale picks.
mod speaking {
    use std::process::Command;

    use crate::support::{CGILAB, root};

    /// Runs `cgilab lessons ARGS` in `dir` with the locale variables `env` (and no other
    /// locale variable): its stdout and stderr.
    fn lessons(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (String, String) {
        let mut cmd = Command::new(CGILAB);
        cmd.arg("lessons")
            .arg("--lessons")
            .arg(root().join("lessons"))
            .args(args)
            .current_dir(dir)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("LANG")
            .envs(env.iter().copied());
        let out = cmd.output().expect("cgilab runs");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn scratch() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cgi-bin")).unwrap();
        dir
    }

    #[test]
    fn a_failing_check_speaks_chinese_with_lang_zh_or_a_zh_locale() {
        let dir = scratch();
        let chinese = |(out, err): (String, String)| {
            assert!(
                out.starts_with("第 1 课：你好，CGI\n练习：cgi-bin/me.sh 以 200 text/plain 回答"),
                "{out}"
            );
            assert!(out.contains("  ✗ cgi-bin/me.sh 不存在\n"), "{out}");
            assert!(
                out.contains("  提示：创建它：一行 `Content-Type: text/plain`"),
                "{out}"
            );
            assert_eq!(
                err,
                "cgilab: error: 第 1 课还没有通过；改好 ✗ 那一行，再运行 `cgilab lessons check 1`\n"
            );
        };
        let english = |(out, err): (String, String)| {
            assert!(out.starts_with("Lesson 1: Hello, CGI\n"), "{out}");
            assert!(out.contains("  ✗ cgi-bin/me.sh does not exist\n"), "{out}");
            assert!(
                err.starts_with("cgilab: error: lesson 1 does not pass yet"),
                "{err}"
            );
        };
        chinese(lessons(
            dir.path(),
            &[("LANG", "C.UTF-8")],
            &["--lang", "zh", "check", "1"],
        ));
        chinese(lessons(
            dir.path(),
            &[("LANG", "zh_CN.UTF-8")],
            &["check", "1"],
        ));
        chinese(lessons(
            dir.path(),
            &[("LC_MESSAGES", "zh_CN.UTF-8"), ("LANG", "en_US.UTF-8")],
            &["check", "1"],
        ));
        english(lessons(
            dir.path(),
            &[("LANG", "zh_CN.UTF-8")],
            &["check", "1", "--lang", "en"],
        ));
        english(lessons(
            dir.path(),
            &[("LC_ALL", "C.UTF-8"), ("LANG", "zh_CN.UTF-8")],
            &["check", "1"],
        ));
        english(lessons(dir.path(), &[], &["check", "1"]));
    }

    /// A passing step is said in Chinese too, and "next" names the Chinese page, or the
    /// English one with a note while the lesson has no Chinese page.
    #[test]
    fn the_list_names_the_chinese_page_or_says_there_is_none() {
        let dir = scratch();
        std::fs::write(
            dir.path().join("cgi-bin/me.sh"),
            "printf 'Content-Type: text/plain\\n\\n'\nprintf 'Hello from Ada!\\n'\n",
        )
        .unwrap();
        let (out, _) = lessons(dir.path(), &[], &["--lang", "zh", "check", "1"]);
        assert!(out.contains("  ✓ cgi-bin/me.sh 存在\n"), "{out}");
        assert!(out.contains("  ✓ 它说：Hello from Ada!\n"), "{out}");
        let (out, _) = lessons(dir.path(), &[], &["--lang", "zh"]);
        assert!(
            out.starts_with(" 1  你好，CGI  "),
            "the list starts with lesson 1's Chinese title:\n{out}"
        );
        assert!(
            out.contains("✓ cgi-bin/me.sh 以 200 text/plain 回答"),
            "{out}"
        );
        let second = "02-the-environment/README";
        let next = if root().join(format!("lessons/{second}.zh.md")).is_file() {
            format!("{second}.zh.md，然后运行 `cgilab lessons check 2`。")
        } else {
            format!(
                "{second}.md（这一课还没有中文版，请先读英文版），然后运行 `cgilab lessons check 2`。"
            )
        };
        let total = cgilab::lessons::EXERCISES.len();
        assert!(
            out.contains(&format!("{total} 个练习通过了 1 个。下一步：读 ")),
            "{out}"
        );
        assert!(out.contains(&next), "{out}");
    }
}
