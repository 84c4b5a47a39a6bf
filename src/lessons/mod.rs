//! `cgilab lessons`: the course in `lessons/`, with the learner's progress.
//!
//! Each lesson is a folder `lessons/NN-slug/` with a README.md, and ends with an exercise.
//! `cgilab lessons` lists the lessons and runs every exercise's check, live;
//! `cgilab lessons check N` runs lesson N's check step by step and says what is wrong.
//! The checks themselves are in [`checks`]; they look through [`crate::client`]: a server
//! process of their own and an HTTP client.

pub mod checks;

use std::path::{Path, PathBuf};

pub use checks::{EXERCISES, Exercise, Options, Outcome};

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
/// with the course in `lessons` and the learner's scripts in `cgi_bin`.
pub fn run(check_lesson: Option<usize>, lessons: &Path, cgi_bin: &Path) -> Result<(), String> {
    let opts = Options {
        cgi_bin: cgi_bin.to_path_buf(),
        cgilab: std::env::current_exe()
            .map_err(|e| format!("cannot find the cgilab binary itself: {e}"))?,
        workdir: PathBuf::from("."),
    };
    if !opts.cgi_bin.is_dir() {
        return Err(format!(
            "cgi-bin directory {} does not exist; pass --cgi-bin DIR",
            checks::shown(&opts.cgi_bin)
        ));
    }
    match check_lesson {
        None => list(lessons, &opts),
        Some(lesson) => check(lesson, lessons, &opts),
    }
}

/// The README of lesson `n`, for "read this next" lines.
fn readme_of(course: &[Lesson], n: usize) -> String {
    course
        .iter()
        .find(|l| l.number == n)
        .map_or_else(|| format!("lesson {n}"), |l| checks::shown(&l.readme))
}

fn list(dir: &Path, opts: &Options) -> Result<(), String> {
    let course = lessons(dir)?;
    let width = EXERCISES.iter().map(|e| e.title.len()).max().unwrap_or(0);
    let mut passed = 0;
    let mut next = None;
    for exercise in &EXERCISES {
        let outcome = checks::run(exercise.lesson, opts, false);
        if outcome.ok() {
            passed += 1;
        } else if next.is_none() {
            next = Some(exercise.lesson);
        }
        // A pass says what was done; a failure, the first thing still wrong.
        let status = match &outcome.failure {
            None => format!("✓ {}", exercise.task),
            Some(failure) => format!("✗ {}", failure.what),
        };
        println!(
            "{:>2}  {:<width$}  {status}",
            exercise.lesson, exercise.title
        );
    }
    println!();
    match next {
        None => println!(
            "{passed} of {} exercises pass. The course is done.",
            EXERCISES.len()
        ),
        Some(n) => println!(
            "{passed} of {} exercises pass. Next: {}, then `cgilab lessons check {n}`.",
            EXERCISES.len(),
            readme_of(&course, n)
        ),
    }
    Ok(())
}

fn check(n: usize, dir: &Path, opts: &Options) -> Result<(), String> {
    let Some(at) = EXERCISES.iter().position(|e| e.lesson == n) else {
        let last = EXERCISES.last().map_or(0, |e| e.lesson);
        return Err(format!(
            "there is no lesson {n}; the lessons are 1 to {last}"
        ));
    };
    let exercise = &EXERCISES[at];
    let course = lessons(dir).unwrap_or_default();
    println!("Lesson {n}: {}", exercise.title);
    println!("Exercise: {}", exercise.task);
    println!();
    let outcome = checks::run(n, opts, true);
    match &outcome.failure {
        None => {
            println!();
            match EXERCISES.get(at + 1) {
                Some(next) => println!(
                    "Lesson {n} passes. Next: {}",
                    readme_of(&course, next.lesson)
                ),
                None => println!("Lesson {n} passes. That was the last one."),
            }
            Ok(())
        }
        Some(failure) => {
            println!("  ✗ {}", failure.what);
            for line in &failure.details {
                println!("      {line}");
            }
            if !failure.hint.is_empty() {
                println!("  hint: {}", failure.hint);
            }
            println!();
            Err(format!(
                "lesson {n} does not pass yet; fix the ✗ line and run `cgilab lessons check {n}` again"
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
