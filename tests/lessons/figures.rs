//! Every figure in a lesson's prose, in either edition, is one a learner can trust. A figure (a number with a
//! unit of time, rate, size or ratio: `0.9 ms`, `2.0x`, `14.5 MiB`, `dur=0.893`, `four-fold`)
//! outside the page's fenced blocks must be one of:
//!
//! - (a) **shown**: the page's own console or output blocks show it, so the learner
//!   measures it in this lesson. A number with a decimal point or of three digits or more
//!   counts wherever a block shows it (a table cell has no unit); a smaller whole number
//!   only with a unit of the same kind.
//! - (b) **quoted**: the sentence, list item or table that states it links to a section of
//!   BENCHMARKS.md (`BENCHMARKS.md#anchor`), that section names its machine and the date
//!   of its runs, and its text holds each number of the figure.
//! - (c) **a constant of the course**: [`CONSTANTS`], each with the reason it is one.
//!
//! The test names page:line and the figure for every other one.

use std::collections::BTreeSet;

use crate::support::{blocks, chinese, pages, root};

/// Figures that are constants of the course, not measurements: (page, figure as written,
/// why it is a constant). A default or a value the learner sets with a flag, a size or a
/// time a file of the course is written with, a definition. Keep it small and precise: a
/// measured figure never belongs here.
const CONSTANTS: [(&str, &str, &str); 21] = [
    // How the course test normalises timings: examples of the format, not figures.
    (
        "lessons/README.md",
        "dur=1.178",
        "an example of a normalised format",
    ),
    (
        "lessons/README.md",
        "0.305ms",
        "an example of a normalised format",
    ),
    (
        "lessons/README.md",
        "1.10 ms",
        "an example of a normalised format",
    ),
    (
        "lessons/README.md",
        "1.0s",
        "an example of a normalised format",
    ),
    (
        "lessons/04-",
        "95%",
        "criterion's confidence level, a setting",
    ),
    ("lessons/06-", "50 ms", "wait_wsgi.py sleeps 0.05 s"),
    ("lessons/08-", "90%", "the definition of p90"),
    (
        "lessons/08-",
        "1%",
        "criterion's default --noise-threshold, a setting",
    ),
    (
        "lessons/08-",
        "2 seconds",
        "cgilab bench's default --duration",
    ),
    (
        "lessons/08-",
        "95%",
        "criterion's confidence level, a setting",
    ),
    (
        "lessons/09-",
        "64 KiB",
        "Linux's default pipe capacity (pipe(7))",
    ),
    ("lessons/09-", "128 KiB", "what chatty.sh writes"),
    (
        "lessons/09-",
        "30 s",
        "the default of --timeout and of --queue-timeout",
    ),
    (
        "lessons/09-",
        "1 MiB",
        "how much of an unwanted body the front drains",
    ),
    ("lessons/11-", "30 s", "the default of --timeout"),
    (
        "lessons/11-",
        "75 s",
        "nginx's default keepalive_timeout, a setting",
    ),
    (
        "lessons/11-",
        "60 s",
        "nginx's default proxy_read_timeout, a setting",
    ),
    ("lessons/11-", "2 s", "the page's --timeout 2"),
    (
        "lessons/11-",
        "35 s",
        "proxy_read_timeout in the lesson's nginx.conf",
    ),
    (
        "lessons/12-",
        "50 ms",
        "notes_db_wsgi.py's /slow waits 0.05 s",
    ),
    (
        "lessons/13-",
        "5 ms",
        "CPython's default sys.getswitchinterval()",
    ),
];

fn is_constant(rel: &str, figure: &str) -> bool {
    CONSTANTS
        .iter()
        .any(|(page, f, _)| rel.starts_with(page) && *f == figure)
}

#[test]
fn every_figure_in_a_lesson_is_measured_or_quoted() {
    let benchmarks = std::fs::read_to_string(root().join("BENCHMARKS.md")).unwrap();
    let mut problems = Vec::new();
    // Both editions: a Chinese page states no figure its English page could not.
    let both: Vec<String> = pages()
        .into_iter()
        .filter(|p| p.starts_with("lessons/"))
        .flat_map(|p| [chinese(&p), p])
        .filter(|p| root().join(p).exists())
        .collect();
    for rel in &both {
        let page = std::fs::read_to_string(root().join(rel)).unwrap();
        problems.extend(page_problems(rel, &page, &benchmarks));
    }
    assert!(
        problems.is_empty(),
        "{} figure(s) in the lessons' prose are neither shown in the page's blocks, nor \
         quoted from a dated section of BENCHMARKS.md (linked from the same sentence or \
         table), nor a constant of the course (tests/lessons/figures.rs):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The scanner on a page of its own: what it must flag and what it must let pass.
#[test]
fn an_unmarked_figure_fails_and_a_marked_one_passes() {
    let benchmarks = "# Benchmarks\n\n## Hello, measured\n\nOn the 2-core machine above, \
                      2026-12-01: hello took 1.120 ms and 0.888 ms.\n\n## Undated\n\n\
                      hello took 1.120 ms.\n";
    let page = "# A lesson\n\n\
                A request costs about 0.893 ms of the server's own work.\n\
                The spawn took 0.305 ms, as the block shows. The server is `total;dur=0.420`\n\
                fast. It grows four-fold.\n\n\
                ```console\n$ curl -i 127.0.0.1:8000/\nServer-Timing: spawn;dur=0.305, total;dur=0.420\n```\n\n\
                Quoted: hello took 1.120 ms ([BENCHMARKS.md](../../BENCHMARKS.md#hello-measured)).\n\
                Misquoted: 2.5 ms ([BENCHMARKS.md](../../BENCHMARKS.md#hello-measured)).\n\
                Undated: 1.120 ms ([BENCHMARKS.md](../../BENCHMARKS.md#undated)).\n\n\
                | target | p50 |\n|---|---|\n| hello | 0.888 ms |\n\n\
                From [BENCHMARKS.md](../../BENCHMARKS.md#hello-measured): the table above \
                does not cite it; this sentence does, 1.120 ms.\n\n\
                As [BENCHMARKS.md](../../BENCHMARKS.md#hello-measured) has them:\n\n\
                | target | p50 |\n|---|---|\n| hello | 0.888 ms |\n";
    let found = page_problems("lessons/x/README.md", page, benchmarks);
    let flagged: Vec<&str> = found
        .iter()
        .map(|p| p.split('`').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        flagged,
        ["0.893 ms", "four-fold", "2.5 ms", "1.120 ms", "0.888 ms"],
        "{found:#?}"
    );
    assert!(found[0].starts_with("lessons/x/README.md:3:"), "{found:#?}");
    assert!(
        found[2].starts_with("lessons/x/README.md:13:"),
        "{found:#?}"
    );
    assert!(
        found[4].starts_with("lessons/x/README.md:18:"),
        "{found:#?}"
    );

    let units: Vec<(String, String)> = figures("took 1-8 ms, 2.0x, 12 MiB, 3 seconds, 90%")
        .into_iter()
        .map(|f| (f.numbers.join(","), f.unit.to_string()))
        .collect();
    let want = [
        ("1,8", "ms"),
        ("2.0", "x"),
        ("12", "MiB"),
        ("3", "s"),
        ("90", "%"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, u)| (n.to_string(), u.to_string()))
        .collect();
    assert_eq!(units, want);
    assert!(figures("RFC 3875, Python 3.12, port 8000, 10-your-flask-app, 14 lessons").is_empty());
    // A constant counts on its own page only.
    let pipe = "A pipe holds 64 KiB.\n";
    assert!(page_problems("lessons/09-x/README.md", pipe, "").is_empty());
    assert_eq!(page_problems("lessons/08-x/README.md", pipe, "").len(), 1);
    assert_eq!(
        slug("## `cgilab bench`: CGI and gateway, side by side"),
        "cgilab-bench-cgi-and-gateway-side-by-side"
    );
}

// ---------------------------------------------------------------------------------------
// A page's problems

fn page_problems(rel: &str, page: &str, benchmarks: &str) -> Vec<String> {
    let shown = shown_figures(page);
    let mut problems = Vec::new();
    for unit in prose_units(page) {
        let cites: Vec<&str> = unit.cites();
        for f in figures(&unit.text) {
            if is_constant(rel, &f.text) {
                continue;
            }
            let line = unit.line_of(f.at);
            let is_shown =
                |n: &String| shown.contains(&f.key(n)) || shown.contains(&(n.clone(), Unit::Bare));
            if f.numbers.iter().all(is_shown) {
                continue;
            }
            let quoted = match cites.as_slice() {
                [] => Err("neither shown in a block nor linked to BENCHMARKS.md".to_string()),
                anchors => anchors
                    .iter()
                    .map(|a| quoted_in(a, &f, benchmarks))
                    .find(Result::is_ok)
                    .unwrap_or_else(|| quoted_in(anchors[0], &f, benchmarks)),
            };
            if let Err(why) = quoted {
                problems.push(format!("{rel}:{line}: `{}`: {why}", f.text));
            }
        }
    }
    problems
}

/// Whether BENCHMARKS.md's section `anchor` names its machine and date and holds the figure.
fn quoted_in(anchor: &str, f: &Figure, benchmarks: &str) -> Result<(), String> {
    if anchor.is_empty() {
        return Err("links to BENCHMARKS.md but to no section of it".into());
    }
    let Some(section) = section(benchmarks, anchor) else {
        return Err(format!("BENCHMARKS.md has no section `#{anchor}`"));
    };
    if !section.to_lowercase().contains("machine") || !has_date(&section) {
        return Err(format!(
            "BENCHMARKS.md#{anchor} does not name its machine and the date (YYYY-MM-DD) of its runs"
        ));
    }
    let numbers: BTreeSet<String> = numbers_in(&section);
    match f.numbers.iter().find(|n| !numbers.contains(*n)) {
        Some(n) => Err(format!("BENCHMARKS.md#{anchor} does not say {n}")),
        None => Ok(()),
    }
}

/// The section whose heading has this GitHub anchor, down to the next heading of its level
/// or above.
fn section(benchmarks: &str, anchor: &str) -> Option<String> {
    let lines: Vec<&str> = benchmarks.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with('#') && slug(l) == anchor)?;
    let level = heading_level(lines[start]);
    let end = lines[start + 1..]
        .iter()
        .position(|l| heading_level(l) > 0 && heading_level(l) <= level)
        .map_or(lines.len(), |i| start + 1 + i);
    Some(lines[start..end].join("\n"))
}

fn heading_level(line: &str) -> usize {
    let n = line.len() - line.trim_start_matches('#').len();
    if n > 0 && line[n..].starts_with(' ') {
        n
    } else {
        0
    }
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn has_date(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(9)).any(|i| {
        let d = |j: usize| b[i + j].is_ascii_digit();
        d(0) && d(1)
            && d(2)
            && d(3)
            && b[i + 4] == b'-'
            && d(5)
            && d(6)
            && b[i + 7] == b'-'
            && d(8)
            && d(9)
    })
}

/// Every number a text states, as written (`0.893`, `11,770`).
fn numbers_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < text.len() {
        if let Some((n, end)) = number_at(text, i) {
            out.insert(n);
            i = end;
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// What the blocks show

/// Every (number, kind of unit) the page's fenced blocks show, and the
/// numbers of [`block_numbers`] with no unit.
fn shown_figures(page: &str) -> BTreeSet<(String, Unit)> {
    let mut out = BTreeSet::new();
    for block in blocks(page) {
        let text = block.text.join("\n");
        for f in figures(&text) {
            for n in &f.numbers {
                out.insert(f.key(n));
            }
        }
        for n in block_numbers(&text) {
            out.insert((n, Unit::Bare));
        }
    }
    out
}

/// The numbers a block shows that are specific enough to stand without their unit: those
/// with a decimal point or at least three digits, even right after a letter (`0m0.132s`
/// from `time`).
fn block_numbers(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let starts =
            b[i].is_ascii_digit() && (i == 0 || !matches!(b[i - 1], b'0'..=b'9' | b'.' | b','));
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < b.len() && (b[end].is_ascii_digit() || b[end] == b',' || b[end] == b'.') {
            end += 1;
        }
        let n = text[i..end].trim_end_matches(['.', ',']);
        if n.contains('.') || n.chars().filter(char::is_ascii_digit).count() >= 3 {
            out.insert(n.to_string());
        }
        i = end;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Prose: sentences, list items and tables outside the fenced blocks

/// A sentence, a list item's sentence or a whole table, with where each of its lines starts.
struct ProseUnit {
    text: String,
    /// (offset in `text`, page line) for each page line the unit spans.
    lines: Vec<(usize, usize)>,
    /// For a table: the anchors the sentence just before it cites.
    caption_cites: Vec<String>,
}

impl ProseUnit {
    fn line_of(&self, at: usize) -> usize {
        self.lines
            .iter()
            .rev()
            .find(|(o, _)| *o <= at)
            .map_or(0, |(_, l)| *l)
    }

    /// The sections of BENCHMARKS.md it links to (an empty anchor for the file itself).
    fn cites(&self) -> Vec<&str> {
        let mut out: Vec<&str> = cited_anchors(&self.text);
        out.extend(self.caption_cites.iter().map(String::as_str));
        out
    }
}

fn cited_anchors(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("BENCHMARKS.md") {
        rest = &rest[i + "BENCHMARKS.md".len()..];
        // Only a link target counts: `](…BENCHMARKS.md#anchor)`.
        let before = &text[..text.len() - rest.len() - "BENCHMARKS.md".len()];
        let in_link = before
            .rfind("](")
            .is_some_and(|j| !before[j..].contains(')') && !before[j..].contains(' '));
        if !in_link {
            continue;
        }
        let anchor = rest
            .strip_prefix('#')
            .map_or("", |a| &a[..a.find(')').unwrap_or(a.len())]);
        out.push(anchor);
    }
    out
}

fn prose_units(page: &str) -> Vec<ProseUnit> {
    let mut fenced = vec![false; page.lines().count()];
    for b in blocks(page) {
        for i in b.line - 1..=(b.line + b.text.len()).min(fenced.len() - 1) {
            fenced[i] = true;
        }
    }
    // Paragraphs, list items and tables, as runs of page lines.
    let mut runs: Vec<(bool, Vec<(usize, &str)>)> = Vec::new();
    let mut last_was_prose = false;
    for (i, line) in page.lines().enumerate() {
        let t = line.trim();
        if fenced[i] || t.is_empty() {
            last_was_prose = false;
            continue;
        }
        let table = t.starts_with('|');
        let item = t.starts_with("- ")
            || t.starts_with("* ")
            || t.starts_with('#')
            || t.split_once(". ")
                .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()));
        let continues = last_was_prose
            && runs
                .last()
                .is_some_and(|(was_table, _)| *was_table == table)
            && (table || !item);
        if continues {
            runs.last_mut().unwrap().1.push((i + 1, line));
        } else {
            runs.push((table, vec![(i + 1, line)]));
        }
        last_was_prose = true;
    }
    let mut units: Vec<ProseUnit> = Vec::new();
    for (table, run) in runs {
        let mut text = String::new();
        let mut lines = Vec::new();
        for (n, line) in &run {
            lines.push((text.len(), *n));
            text.push_str(line.trim());
            text.push(' ');
        }
        if table {
            let caption_cites = units
                .last()
                .map(|u| {
                    cited_anchors(&u.text)
                        .iter()
                        .map(|a| a.to_string())
                        .collect()
                })
                .unwrap_or_default();
            units.push(ProseUnit {
                text,
                lines,
                caption_cites,
            });
            continue;
        }
        for (start, end) in sentences(&text) {
            let sub: Vec<(usize, usize)> = lines
                .iter()
                .filter(|(o, _)| *o < end)
                .map(|(o, l)| (o.saturating_sub(start), *l))
                .collect();
            // The first line of a sentence is the one it starts on.
            let mut sub_lines: Vec<(usize, usize)> = Vec::new();
            for (o, l) in sub {
                if o == 0 {
                    sub_lines.clear();
                }
                sub_lines.push((o, l));
            }
            units.push(ProseUnit {
                text: text[start..end].to_string(),
                lines: sub_lines,
                caption_cites: Vec::new(),
            });
        }
    }
    units
}

/// Sentence spans: a `.`, `?` or `!` followed by a space and a capital, a backtick or a
/// bracket ends one.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(2) {
        if matches!(b[i], b'.' | b'?' | b'!')
            && b[i + 1] == b' '
            && (b[i + 2].is_ascii_uppercase() || matches!(b[i + 2], b'`' | b'[' | b'('))
        {
            out.push((start, i + 1));
            start = i + 2;
        }
    }
    out.push((start, text.len()));
    out
}

// ---------------------------------------------------------------------------------------
// Figures

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Ms,
    Us,
    S,
    Minutes,
    ReqPerS,
    Bytes(&'static str),
    Times,
    Percent,
    /// A number a block shows with no unit (a table cell).
    Bare,
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unit::Ms => "ms",
            Unit::Us => "µs",
            Unit::S => "s",
            Unit::Minutes => "min",
            Unit::ReqPerS => "req/s",
            Unit::Bytes(b) => b,
            Unit::Times => "x",
            Unit::Percent => "%",
            Unit::Bare => "",
        })
    }
}

/// Units as written, longest first, with what they are.
const UNITS: [(&str, Unit); 23] = [
    ("requests per second", Unit::ReqPerS),
    ("milliseconds", Unit::Ms),
    ("millisecond", Unit::Ms),
    ("microseconds", Unit::Us),
    ("microsecond", Unit::Us),
    ("requests/s", Unit::ReqPerS),
    ("req/s", Unit::ReqPerS),
    ("seconds", Unit::S),
    ("second", Unit::S),
    ("minutes", Unit::Minutes),
    ("minute", Unit::Minutes),
    ("ms", Unit::Ms),
    ("µs", Unit::Us),
    ("us", Unit::Us),
    ("s", Unit::S),
    ("MiB", Unit::Bytes("MiB")),
    ("KiB", Unit::Bytes("KiB")),
    ("GiB", Unit::Bytes("GiB")),
    ("MB", Unit::Bytes("MiB")),
    ("kB", Unit::Bytes("KiB")),
    ("KB", Unit::Bytes("KiB")),
    ("x", Unit::Times),
    ("%", Unit::Percent),
];

/// Multiples spelled out: `four-fold`.
const FOLDS: [&str; 9] = [
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
];

#[derive(Debug)]
struct Figure {
    /// Byte offset in the text it was found in.
    at: usize,
    /// As written.
    text: String,
    /// Each number of it: one, or two for a range (`1-8 ms`).
    numbers: Vec<String>,
    unit: Unit,
}

impl Figure {
    fn key(&self, n: &str) -> (String, Unit) {
        (n.to_string(), self.unit)
    }
}

/// The figures of a text: a number or a range of two, then a unit (`0.9 ms`, `1-8 ms`,
/// `2.0x`, `90%`); a Server-Timing duration (`dur=0.893`, in ms); a multiple spelled out.
fn figures(text: &str) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if let Some((f, end)) = figure_at(text, i) {
            out.push(f);
            i = end;
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

fn figure_at(text: &str, at: usize) -> Option<(Figure, usize)> {
    let rest = &text[at..];
    for word in FOLDS {
        let fold = format!("{word}-fold");
        let starts_word = !text[..at].chars().last().is_some_and(char::is_alphanumeric);
        if starts_word
            && rest
                .get(..fold.len())
                .is_some_and(|r| r.eq_ignore_ascii_case(&fold))
        {
            let figure = Figure {
                at,
                text: rest[..fold.len()].to_string(),
                numbers: vec![fold.clone()],
                unit: Unit::Times,
            };
            return Some((figure, at + fold.len()));
        }
    }
    let (first, mut end) = number_at(text, at)?;
    let mut numbers = vec![first];
    if text[..at].ends_with("dur=") {
        let figure = Figure {
            at: at - 4,
            text: text[at - 4..end].to_string(),
            numbers,
            unit: Unit::Ms,
        };
        return Some((figure, end));
    }
    // A range: `1-8 ms`, `0.2 to 0.9 ms`, `between 1 and 3 s`.
    for sep in ["–", "-", " to ", " and ", " or "] {
        if let Some(n) = text[end..].strip_prefix(sep)
            && let Some((second, e)) = number_at(text, text.len() - n.len())
        {
            numbers.push(second);
            end = e;
            break;
        }
    }
    let after = &text[end..];
    let spaced = after.strip_prefix(' ').unwrap_or(after);
    let (word, unit) = UNITS.iter().find(|(w, _)| {
        spaced.starts_with(w)
            && !spaced[w.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })?;
    // `x` only when written against the number (`2.0x`), as a multiple.
    if *unit == Unit::Times && spaced.len() != after.len() {
        return None;
    }
    let stop = end + (after.len() - spaced.len()) + word.len();
    let figure = Figure {
        at,
        text: text[at..stop].to_string(),
        numbers,
        unit: *unit,
    };
    Some((figure, stop))
}

/// A number starting at `at` (not inside a word, a version, a path or a longer number):
/// digits, thousands commas, one decimal point.
fn number_at(text: &str, at: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    if !b[at].is_ascii_digit() {
        return None;
    }
    if at > 0
        && (b[at - 1].is_ascii_alphanumeric() || matches!(b[at - 1], b'.' | b'_' | b'/' | b','))
    {
        return None;
    }
    let mut end = at;
    let mut dot = false;
    while end < b.len() {
        match b[end] {
            c if c.is_ascii_digit() => end += 1,
            b',' if end + 3 < b.len()
                && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
                && !b.get(end + 4).is_some_and(u8::is_ascii_digit) =>
            {
                end += 4
            }
            b'.' if !dot && b.get(end + 1).is_some_and(u8::is_ascii_digit) => {
                dot = true;
                end += 1;
            }
            _ => break,
        }
    }
    // A version or an address (`3.1.2`, `127.0.0.1`) is no figure.
    if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((text[at..end].to_string(), end))
}
