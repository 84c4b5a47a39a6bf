//! The course's structure: numbering, sections, links, and an exercise for each lesson.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{blocks, root, skip_reason};

/// The sections every lesson has, in this order.
const SECTIONS: [&str; 6] = [
    "## Goal",
    "## The idea",
    "## Steps",
    "## What just happened",
    "## Exercise",
    "## Check",
];

/// Text that would only be true on one machine.
const MACHINE_PATHS: [&str; 5] = ["/home/", "/root/", "/Users/", "/work/", "/tmp/tmp"];

#[test]
fn the_course_is_well_formed() {
    let dir = root().join("lessons");
    let mut problems = Vec::new();
    let mut numbers = Vec::new();
    let index = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    if index.is_empty() {
        problems.push(
            "lessons/README.md is missing: it introduces the course and links every lesson".into(),
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        // The index, and its Chinese edition (tests/lessons/editions.rs).
        if name == "README.md" || name == "README.zh.md" {
            continue;
        }
        let Some(n) = cgilab::lessons::lesson_number(&name).filter(|_| entry.path().is_dir())
        else {
            problems.push(format!(
                "lessons/{name}: lessons/ holds README.md, README.zh.md and lesson folders named NN-slug (two digits, a dash, lowercase words); rename or remove it"
            ));
            continue;
        };
        numbers.push(n);
        problems.extend(lesson_problems(&dir, &name, n, &index));
    }
    numbers.sort();
    let want: Vec<usize> = (1..=numbers.len()).collect();
    if numbers != want {
        problems.push(format!(
            "lesson numbers are {numbers:?}; they must run 1, 2, 3, ... with no gap or repeat: renumber the folders"
        ));
    }
    if numbers.len() != cgilab::lessons::EXERCISES.len() {
        problems.push(format!(
            "{} lesson folders but {} exercises in EXERCISES (src/lessons/checks/mod.rs): every lesson needs an exercise with a check, and every check a lesson",
            numbers.len(),
            cgilab::lessons::EXERCISES.len()
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn lesson_problems(dir: &Path, name: &str, n: usize, index: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let rel = format!("lessons/{name}/README.md");
    let Ok(text) = std::fs::read_to_string(dir.join(name).join("README.md")) else {
        return vec![format!(
            "{rel} is missing: every lesson folder has a README.md"
        )];
    };
    match cgilab::lessons::title_of(&text, n) {
        None => problems.push(format!(
            "{rel}: the first line must be `# Lesson {n}: TITLE`"
        )),
        Some(title) => {
            if let Some(e) = cgilab::lessons::EXERCISES.iter().find(|e| e.lesson == n)
                && e.title != title
            {
                problems.push(format!(
                    "{rel}: the title `{title}` differs from `{}` in EXERCISES (src/lessons/checks/mod.rs); make them the same",
                    e.title
                ));
            }
        }
    }
    let mut at = 0;
    for section in SECTIONS {
        match text.lines().skip(at).position(|l| l.trim() == section) {
            Some(i) => at += i + 1,
            None => problems.push(format!(
                "{rel}: no `{section}` heading (after the ones before it); a lesson has {} in that order",
                SECTIONS.join(", ")
            )),
        }
    }
    let check = text.split("\n## Check").nth(1).unwrap_or("");
    if !check.contains(&format!("$ cgilab lessons check {n}")) {
        problems.push(format!(
            "{rel}: the Check section needs a console block with `$ cgilab lessons check {n}`"
        ));
    }
    if !index.contains(&format!("{name}/README.md")) {
        problems.push(format!(
            "lessons/README.md does not link {name}/README.md; add it to the list of lessons"
        ));
    }
    for block in blocks(&text) {
        if block.info.starts_with("console skip")
            && skip_reason(&block.info).is_none_or(str::is_empty)
        {
            problems.push(format!(
                "{rel}:{}: a skipped block says why: ```console skip: REASON",
                block.line
            ));
        }
    }
    for bad in MACHINE_PATHS {
        if text.contains(bad) {
            problems.push(format!(
                "{rel}: it mentions `{bad}`, a path on one machine; write paths relative to the repository"
            ));
        }
    }
    // Every other file in the folder is something the README uses.
    let mut files = BTreeSet::new();
    collect_files(&dir.join(name), Path::new(""), &mut files);
    for file in files {
        if file != "README.md" && file != "README.zh.md" && !text.contains(&file) {
            problems.push(format!(
                "lessons/{name}/{file} is not mentioned in {rel}; use it there or remove it"
            ));
        }
    }
    problems
}

fn collect_files(dir: &Path, prefix: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let rel = prefix.join(entry.file_name());
        if entry.path().is_dir() {
            collect_files(&entry.path(), &rel, out);
        } else {
            out.insert(rel.to_string_lossy().into_owned());
        }
    }
}

/// What a learner types must leave the files cgilab ships in cgi-bin as they are: the
/// page test runs in a scratch copy, so a step that overwrote or deleted one (lesson 5
/// once copied its counting hello over `cgi-bin/hello_wsgi.py`, then removed it) would
/// pass there and break the learner's later lessons.
#[test]
fn no_step_overwrites_or_removes_a_shipped_script() {
    let shipped: BTreeSet<String> = match crate::support::tracked("cgi-bin") {
        Some(files) => files.into_iter().collect(),
        None => std::fs::read_dir(root().join("cgi-bin"))
            .unwrap()
            .map(|e| format!("cgi-bin/{}", e.unwrap().file_name().to_string_lossy()))
            .collect(),
    };
    assert!(shipped.contains("cgi-bin/hello_wsgi.py"), "{shipped:?}");
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("lessons")).unwrap() {
        let readme = entry.unwrap().path().join("README.md");
        if readme.is_file() {
            pages.push(readme);
        }
    }
    let mut problems = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for block in blocks(&text) {
            if !block.info.starts_with("console") {
                continue;
            }
            for line in &block.text {
                let Some(command) = line.strip_prefix("$ ") else {
                    continue;
                };
                for target in written_paths(command) {
                    if shipped.contains(&target) {
                        problems.push(format!(
                            "{}:{}: `{command}` overwrites or removes {target}, which cgilab ships (later lessons and the bench load it); use a name of its own",
                            page.strip_prefix(root()).unwrap_or(page).display(),
                            block.line
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The cgi-bin paths a shell command line writes, renames or removes: the destination of
/// `cp`, `mv`, `ln`; every operand of `rm`; the file of `sed -i`; a `>` redirection.
/// Words are split on white space, which is enough for the course's commands.
fn written_paths(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in command.split(['(', ')', ';', '&', '|']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let operands: Vec<&str> = words
            .iter()
            .skip(1)
            .copied()
            .filter(|w| !w.starts_with('-'))
            .collect();
        let mut paths: Vec<String> = match words.first().copied() {
            Some("cp" | "mv" | "ln") if operands.len() >= 2 => {
                let dest = operands[operands.len() - 1].trim_end_matches('/');
                let src = operands[operands.len() - 2];
                if dest == "cgi-bin" {
                    let name = src.rsplit('/').next().unwrap_or(src);
                    vec![format!("cgi-bin/{name}")]
                } else {
                    vec![dest.to_string()]
                }
            }
            Some("rm") => operands.iter().map(|s| s.to_string()).collect(),
            Some("sed") if words.contains(&"-i") => {
                operands.last().map(|s| s.to_string()).into_iter().collect()
            }
            _ => Vec::new(),
        };
        for pair in words.windows(2) {
            if pair[0] == ">" || pair[0] == ">>" {
                paths.push(pair[1].to_string());
            }
        }
        out.extend(
            paths
                .into_iter()
                .map(|p| p.trim_start_matches("./").to_string())
                .filter(|p| p.starts_with("cgi-bin/")),
        );
    }
    out
}
