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
        let at = format!(
            "block {} ({zh_rel}:{}, {en_rel}:{})",
            i + 1,
            z.line,
            e.line
        );
        if e.info != z.info {
            return Some(format!(
                "{at}: its fence says ```{} in Chinese, ```{} in English",
                z.info, e.info
            ));
        }
        let differs = (0..e.text.len().max(z.text.len()))
            .find(|&n| e.text.get(n) != z.text.get(n));
        if let Some(n) = differs {
            let shown = |l: Option<&String>| l.map_or("(no line)".to_string(), |l| format!("`{l}`"));
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

#[test]
fn each_chinese_page_has_its_english_pages_blocks() {
    let mut problems = Vec::new();
    for zh_rel in chinese_pages() {
        let en_rel = zh_rel.replace(".zh.md", ".md");
        let en = std::fs::read_to_string(root().join(&en_rel)).unwrap();
        let zh = std::fs::read_to_string(root().join(&zh_rel)).unwrap();
        if let Some(problem) = first_difference(&en_rel, &en, &zh_rel, &zh) {
            problems.push(format!(
                "{problem}\n  (copy the block from {en_rel}: the blocks are the same in both editions)"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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
    assert!(problem.contains("the first one only en.md has is at en.md:10"), "{problem}");
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
                    "{zh_rel}: the first line must be `{want}` (the title `cgilab lessons --lang zh` shows, from src/lessons/zh.rs)"
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
