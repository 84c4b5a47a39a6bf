//! `cgilab lessons`: the course in `lessons/`, with the learner's progress.
//!
//! Each lesson is a folder `lessons/NN-slug/` with a README.md, and ends with an exercise.
//! `cgilab lessons` lists the lessons and runs every exercise's check, live;
//! `cgilab lessons check N` runs lesson N's check step by step and says what is wrong.
//! The checks themselves are in [`checks`]; they look through [`crate::client`]: a server
//! process of their own and an HTTP client. Everything is said in the learner's [`Lang`]:
//! `--lang zh`, or a `zh_*` locale, gives the Chinese edition (`README.zh.md` beside each
//! page, the messages' Chinese forms in [`zh`]).

pub mod checks;
pub mod lang;
pub mod template;
pub mod zh;

use std::path::{Path, PathBuf};

pub use checks::{EXERCISES, Exercise, Options, Outcome};
pub use lang::Lang;

/// A lesson folder: `lessons/NN-slug/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lesson {
    pub number: usize,
    /// `01-hello-cgi`.
    pub dir_name: String,
    /// Its README.md.
    pub readme: PathBuf,
    /// The title in the README's first line, `# Lesson N: Title`.
    pub title: Option<String>,
}

/// The lesson folders in `dir`, in order. Entries not named `NN-slug` are left out.
pub fn lessons(dir: &Path) -> Result<Vec<Lesson>, String> {
    let entries = std::fs::read_dir(dir).map_err(|_| {
        format!(
            "no lessons in {}: run cgilab from the repository's root, or pass --lessons DIR",
            checks::shown(dir)
        )
    })?;
    let mut found: Vec<Lesson> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| {
            let number = lesson_number(&name)?;
            let readme = dir.join(&name).join("README.md");
            let title = std::fs::read_to_string(&readme)
                .ok()
                .and_then(|text| title_of(&text, number));
            Some(Lesson {
                number,
                dir_name: name,
                readme,
                title,
            })
        })
        .collect();
    found.sort_by_key(|l| l.number);
    Ok(found)
}

/// `03-responses` -> 3: two digits, a dash, a slug.
pub fn lesson_number(dir_name: &str) -> Option<usize> {
    let (digits, slug) = dir_name.split_once('-')?;
    let valid = digits.len() == 2
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| digits.parse().ok()).flatten()
}

/// The title from a README's first line, `# Lesson N: Title`.
pub fn title_of(readme: &str, number: usize) -> Option<String> {
    let first = readme.lines().next()?;
    first
        .strip_prefix(&format!("# Lesson {number}: "))
        .map(|t| t.trim().to_string())
}

/// Runs `cgilab lessons`: checks lesson `check`'s exercise, or lists them all (`None`),
/// with the course in `lessons` and the learner's scripts in `cgi_bin`, in `lang`.
pub fn run(
    check_lesson: Option<usize>,
    lessons: &Path,
    cgi_bin: &Path,
    lang: Lang,
) -> Result<(), String> {
    let opts = Options {
        cgi_bin: cgi_bin.to_path_buf(),
        cgilab: std::env::current_exe().map_err(|e| {
            lang.pick(
                format!("cannot find the cgilab binary itself: {e}"),
                format!("找不到 cgilab 程序自身：{e}"),
            )
        })?,
        workdir: PathBuf::from("."),
        lang,
    };
    if !opts.cgi_bin.is_dir() {
        let dir = checks::shown(&opts.cgi_bin);
        return Err(lang.pick(
            format!("cgi-bin directory {dir} does not exist; pass --cgi-bin DIR"),
            format!("cgi-bin 目录 {dir} 不存在；请用 --cgi-bin DIR 指定"),
        ));
    }
    match check_lesson {
        None => list(lessons, &opts),
        Some(lesson) => check(lesson, lessons, &opts),
    }
}

/// The README of lesson `n` in `lang`, for "read this next" lines. A page not yet
/// translated is the English one, and the line says so.
fn readme_of(course: &[Lesson], n: usize, lang: Lang) -> String {
    let Some(lesson) = course.iter().find(|l| l.number == n) else {
        return lang.pick(format!("lesson {n}"), format!("第 {n} 课"));
    };
    match lang.page(&lesson.readme) {
        (page, true) => checks::shown(&page),
        (page, false) => format!(
            "{}（这一课还没有中文版，请先读英文版）",
            checks::shown(&page)
        ),
    }
}

/// The lessons with no page in `lang` yet, as `2-4、6-12`; empty when none.
fn untranslated(course: &[Lesson], lang: Lang) -> String {
    let missing: Vec<usize> = course
        .iter()
        .filter(|l| !lang.page(&l.readme).1)
        .map(|l| l.number)
        .collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for n in missing {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    runs.iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join("、")
}

/// Text width in terminal columns, counting every character from the CJK blocks on
/// (U+2E80 and up: Chinese characters, full-width punctuation) as two.
fn columns(text: &str) -> usize {
    text.chars()
        .map(|c| if c > '\u{2e7f}' { 2 } else { 1 })
        .sum()
}

fn list(dir: &Path, opts: &Options) -> Result<(), String> {
    let lang = opts.lang;
    let course = lessons(dir)?;
    let titles: Vec<String> = EXERCISES.iter().map(|e| lang.say(e.title)).collect();
    let width = titles.iter().map(|t| columns(t)).max().unwrap_or(0);
    let mut passed = 0;
    let mut next = None;
    for (exercise, title) in EXERCISES.iter().zip(&titles) {
        let outcome = checks::run(exercise.lesson, opts, false);
        if outcome.ok() {
            passed += 1;
        } else if next.is_none() {
            next = Some(exercise.lesson);
        }
        // A pass says what was done; a failure, the first thing still wrong.
        let status = match &outcome.failure {
            None => format!("✓ {}", lang.say(exercise.task)),
            Some(failure) => format!("✗ {}", lang.say(&failure.what)),
        };
        let pad = " ".repeat(width - columns(title));
        println!("{:>2}  {title}{pad}  {status}", exercise.lesson);
    }
    println!();
    let total = EXERCISES.len();
    match next {
        None => println!(
            "{}",
            lang.pick(
                format!("{passed} of {total} exercises pass. The course is done."),
                format!("{total} 个练习通过了 {passed} 个。课程完成了。"),
            )
        ),
        Some(n) => {
            let page = readme_of(&course, n, lang);
            println!(
                "{}",
                lang.pick(
                    format!(
                        "{passed} of {total} exercises pass. Next: {page}, then `cgilab lessons check {n}`."
                    ),
                    format!(
                        "{total} 个练习通过了 {passed} 个。下一步：读 {page}，然后运行 `cgilab lessons check {n}`。"
                    ),
                )
            );
        }
    }
    let missing = untranslated(&course, lang);
    if lang == Lang::Zh && !missing.is_empty() {
        println!("第 {missing} 课还没有中文版：这几课请读英文的 README.md。");
    }
    Ok(())
}

fn check(n: usize, dir: &Path, opts: &Options) -> Result<(), String> {
    let lang = opts.lang;
    let Some(at) = EXERCISES.iter().position(|e| e.lesson == n) else {
        let last = EXERCISES.last().map_or(0, |e| e.lesson);
        return Err(lang.pick(
            format!("there is no lesson {n}; the lessons are 1 to {last}"),
            format!("没有第 {n} 课；课程是第 1 到第 {last} 课"),
        ));
    };
    let exercise = &EXERCISES[at];
    let course = lessons(dir).unwrap_or_default();
    let (title, task) = (lang.say(exercise.title), lang.say(exercise.task));
    println!(
        "{}",
        lang.pick(
            format!("Lesson {n}: {title}"),
            format!("第 {n} 课：{title}")
        )
    );
    println!(
        "{}",
        lang.pick(format!("Exercise: {task}"), format!("练习：{task}"))
    );
    println!();
    let outcome = checks::run(n, opts, true);
    match &outcome.failure {
        None => {
            println!();
            let done = match EXERCISES.get(at + 1) {
                Some(next) => {
                    let page = readme_of(&course, next.lesson, lang);
                    lang.pick(
                        format!("Lesson {n} passes. Next: {page}"),
                        format!("第 {n} 课通过。下一课：{page}"),
                    )
                }
                None => lang.pick(
                    format!("Lesson {n} passes. That was the last one."),
                    format!("第 {n} 课通过。这是最后一课。"),
                ),
            };
            println!("{done}");
            Ok(())
        }
        Some(failure) => {
            println!("  ✗ {}", lang.say(&failure.what));
            for line in &failure.details {
                println!("      {}", lang.say_exact(line));
            }
            if !failure.hint.is_empty() {
                let hint = lang.say(&failure.hint);
                println!(
                    "{}",
                    lang.pick(format!("  hint: {hint}"), format!("  提示：{hint}"))
                );
            }
            println!();
            Err(lang.pick(
                format!(
                    "lesson {n} does not pass yet; fix the ✗ line and run `cgilab lessons check {n}` again"
                ),
                format!(
                    "第 {n} 课还没有通过；改好 ✗ 那一行，再运行 `cgilab lessons check {n}`"
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_folders_are_two_digits_and_a_slug() {
        assert_eq!(lesson_number("01-hello-cgi"), Some(1));
        assert_eq!(lesson_number("12-a"), Some(12));
        assert_eq!(lesson_number("1-hello"), None);
        assert_eq!(lesson_number("01-Hello"), None);
        assert_eq!(lesson_number("01-"), None);
        assert_eq!(lesson_number("README.md"), None);
    }

    #[test]
    fn titles_come_from_the_first_heading() {
        assert_eq!(
            title_of("# Lesson 3: Responses and failures\n\ntext", 3).as_deref(),
            Some("Responses and failures")
        );
        assert_eq!(title_of("# Lesson 3: x", 4), None);
        assert_eq!(title_of("text", 1), None);
    }
}
