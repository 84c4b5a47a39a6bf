//! The course's pictures: every SVG under `lessons/` is well-formed XML with an `<svg>`
//! root that a browser can draw, every picture a page shows or links is there, and each
//! series a page's alt text names is drawn in its SVG.

use crate::support::{pages, root};

/// Each picture, and the series its page's alt text names: what the alt text calls
/// each (found in it, whatever the case) and a text the SVG draws for it (found in one
/// of its `<text>` elements). A new picture goes here, or the tests below fail.
const SERIES: &[(&str, &[(&str, &str)])] = &[
    (
        "lessons/04-the-price-of-a-process/price.svg",
        &[
            ("hello.sh", "/cgi-bin/hello.sh"),
            ("hello.pl", "/cgi-bin/hello.pl"),
            ("hello.py", "/cgi-bin/hello.py"),
            ("/app/hello", "/app/hello"),
        ],
    ),
    (
        "lessons/04-the-price-of-a-process/phases.svg",
        &[
            ("hello.sh", "/cgi-bin/hello.sh"),
            ("hello.pl", "/cgi-bin/hello.pl"),
            ("hello.py", "/cgi-bin/hello.py"),
            ("/app/hello", "/app/hello"),
            ("spawn", "spawn"),
            ("headers", "headers"),
            ("call", "call"),
        ],
    ),
    (
        "lessons/05-the-gateway-idea/gateway.svg",
        &[
            ("/cgi-bin/hello_wsgi.py", "/cgi-bin/hello_wsgi.py"),
            ("/app/hello", "/app/hello"),
        ],
    ),
    (
        "lessons/06-workers-that-stay/stay.svg",
        &[
            ("/cgi-bin/hello_wsgi.py", "/cgi-bin/hello_wsgi.py"),
            ("/pool/hello", "/pool/hello"),
            ("/app/hello", "/app/hello"),
        ],
    ),
    (
        "lessons/07-the-supervisors-jobs/reload.svg",
        &[
            ("old workers", "old workers"),
            ("new workers", "new workers"),
            ("HUP", "HUP"),
        ],
    ),
    (
        "lessons/08-head-to-head/head-to-head.svg",
        &[
            ("/cgi-bin/hello-cgi", "/cgi-bin/hello-cgi"),
            ("/cgi-bin/hello.sh", "/cgi-bin/hello.sh"),
            ("/cgi-bin/hello.pl", "/cgi-bin/hello.pl"),
            ("/cgi-bin/hello.py", "/cgi-bin/hello.py"),
            ("/app/hello", "/app/hello"),
            ("/pool/hello", "/pool/hello"),
            ("/raw", "/raw"),
        ],
    ),
    (
        "lessons/10-your-flask-app/phases.svg",
        &[
            (
                "/cgi-bin/notes_app.py/notes/1",
                "/cgi-bin/notes_app.py/notes/1",
            ),
            ("/pool/notes/notes/1", "/pool/notes/notes/1"),
            ("spawn", "spawn"),
            ("headers", "headers"),
            ("queue", "queue"),
            ("app", "app"),
            ("rest", "rest"),
        ],
    ),
    (
        "lessons/11-the-three-layers/layers.svg",
        &[
            ("nginx", "nginx"),
            ("web server", "web server"),
            ("app server", "app server"),
            ("framework", "framework"),
            ("CGI", "CGI"),
            ("gateway", "gateway"),
            ("pool", "pool"),
            ("embedded", "embedded"),
        ],
    ),
    (
        "lessons/11-the-three-layers/prefork.svg",
        &[
            ("/pool/hello", "cgilab /pool/hello"),
            ("/app/hello", "cgilab /app/hello"),
            ("gunicorn", "gunicorn /"),
        ],
    ),
    (
        "lessons/11-the-three-layers/slow-clients.svg",
        &[
            ("slow clients", "slow client"),
            ("normal client", "normal client"),
            ("nginx", "nginx"),
            ("gunicorn", "Straight at gunicorn (2 sync workers)"),
            ("worker", "worker 1"),
            ("listen backlog", "listen backlog"),
        ],
    ),
    (
        "lessons/12-workers-that-wait/waiting.svg",
        &[
            ("sync", "cgilab-sync"),
            ("sync", "gunicorn-sync"),
            ("gthread", "cgilab-gthread"),
            ("gthread", "gunicorn-gthread"),
            ("gevent", "cgilab-gevent"),
            ("gevent", "gunicorn-gevent"),
        ],
    ),
    (
        "lessons/13-the-server-calls-the-app/four-ways.svg",
        &[
            ("CGI", "/cgi-bin/hello_wsgi.py"),
            ("pool", "/pool/hello"),
            ("embedded", "/wsgi/hello"),
            ("gateway", "/app/hello"),
        ],
    ),
];

/// Every `.svg` file in a lesson's folder, relative to the repository.
fn svg_files() -> Vec<String> {
    let mut out = Vec::new();
    for lesson in std::fs::read_dir(root().join("lessons")).unwrap() {
        let lesson = lesson.unwrap();
        if !lesson.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(lesson.path()).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".svg") {
                out.push(format!(
                    "lessons/{}/{name}",
                    lesson.file_name().to_string_lossy()
                ));
            }
        }
    }
    out.sort();
    out
}

/// The `[text](target.svg)` and `![alt](target.svg)` of a page: whether it is shown
/// (`![`), its text, and the target, relative to the repository.
fn pictures(page: &str) -> Vec<(bool, String, String)> {
    let text = std::fs::read_to_string(root().join(page)).unwrap();
    // Inline code (`![alt](file.svg)` where the page explains the syntax) shows nothing.
    let text: String = text
        .lines()
        .flat_map(|line| line.split('`').step_by(2).chain(["\n"]))
        .collect();
    let dir = std::path::Path::new(page).parent().unwrap();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(end) = rest.find("](") {
        let before = &rest[..end];
        let after = &rest[end + 2..];
        rest = after;
        let Some(close) = after.find(')') else { break };
        let target = &after[..close];
        if !target.ends_with(".svg") || target.contains("://") {
            continue;
        }
        let Some(open) = before.rfind('[') else {
            continue;
        };
        let shown = before[..open].ends_with('!');
        let path = dir.join(target).to_string_lossy().into_owned();
        out.push((shown, before[open + 1..].to_string(), path));
    }
    out
}

/// The text of every `<text>` element of an SVG, each with its descendants' text.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name(("http://www.w3.org/2000/svg", "text")))
        .map(|n| {
            n.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn every_svg_under_lessons_parses_as_an_svg_document_and_is_listed() {
    let listed: Vec<&str> = SERIES.iter().map(|(file, _)| *file).collect();
    let files = svg_files();
    for file in &files {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{file} is not well-formed XML: {e}"));
        let svg = doc.root_element();
        assert!(
            svg.has_tag_name(("http://www.w3.org/2000/svg", "svg")),
            "{file}: the root is not <svg> in the SVG namespace"
        );
        assert!(
            svg.attribute("viewBox").is_some() && svg.attribute("width").is_some(),
            "{file}: a browser needs its size (width, height, viewBox)"
        );
        assert!(
            listed.contains(&file.as_str()),
            "{file}: list the series its page names in SERIES, tests/lessons/svg.rs"
        );
    }
    for file in listed {
        assert!(
            files.iter().any(|f| f == file),
            "{file} is listed but not there"
        );
    }
}

#[test]
fn every_picture_a_page_shows_or_links_is_there() {
    for page in pages() {
        for (_, _, path) in pictures(&page) {
            assert!(
                root().join(&path).is_file(),
                "{page} shows {path}, which is not there"
            );
        }
    }
}

#[test]
fn each_series_a_page_names_is_drawn_in_its_svg() {
    let shown: Vec<(String, String, String)> = pages()
        .into_iter()
        .flat_map(|page| {
            pictures(&page)
                .into_iter()
                .filter(|(shown, _, _)| *shown)
                .map(move |(_, alt, path)| (page.clone(), alt, path))
        })
        .collect();
    for (file, series) in SERIES {
        // The page beside the picture shows it, with an alt text that names its series.
        let (page, alt, _) = shown
            .iter()
            .find(|(_, alt, path)| path == file && !alt.is_empty())
            .unwrap_or_else(|| panic!("no page shows {file} with an alt text"));
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let drawn = texts(&doc);
        for (named, label) in *series {
            assert!(
                alt.to_lowercase().contains(&named.to_lowercase()),
                "{page}: the alt text of {file} does not name `{named}`: {alt}"
            );
            assert!(
                drawn.iter().any(|t| t.contains(label)),
                "{file}: no text element shows `{label}` (for `{named}`, which {page} names)"
            );
        }
    }
}
