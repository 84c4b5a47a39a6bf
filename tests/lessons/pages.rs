//! One test per page: every console and log block of the page shows what really happens.
//! The Chinese edition's pages (`README.zh.md`) run the same way, each alone: they hold
//! the same blocks as their English pages (tests/lessons/editions.rs), and run them again
//! so that a page a learner follows is a page that was run.

use crate::support::{check_page, chinese_pages, pages};

/// The pages below, so a page without a test is caught.
const PAGES: [&str; 16] = [
    "README.md",
    "lessons/README.md",
    "lessons/01-hello-cgi/README.md",
    "lessons/02-the-environment/README.md",
    "lessons/03-responses-and-failures/README.md",
    "lessons/04-the-price-of-a-process/README.md",
    "lessons/05-the-gateway-idea/README.md",
    "lessons/06-workers-that-stay/README.md",
    "lessons/07-the-supervisors-jobs/README.md",
    "lessons/08-head-to-head/README.md",
    "lessons/09-what-a-host-must-refuse/README.md",
    "lessons/10-your-flask-app/README.md",
    "lessons/11-the-three-layers/README.md",
    "lessons/12-workers-that-wait/README.md",
    "lessons/13-the-server-calls-the-app/README.md",
    "lessons/14-your-app-in-production/README.md",
];

/// The Chinese edition's pages below.
const CHINESE_PAGES: &[&str] = &[
    "lessons/README.zh.md",
    "lessons/01-hello-cgi/README.zh.md",
    "lessons/02-the-environment/README.zh.md",
    "lessons/03-responses-and-failures/README.zh.md",
    "lessons/04-the-price-of-a-process/README.zh.md",
    "lessons/05-the-gateway-idea/README.zh.md",
    "lessons/06-workers-that-stay/README.zh.md",
    "lessons/07-the-supervisors-jobs/README.zh.md",
    "lessons/08-head-to-head/README.zh.md",
    "lessons/09-what-a-host-must-refuse/README.zh.md",
    "lessons/10-your-flask-app/README.zh.md",
    "lessons/11-the-three-layers/README.zh.md",
    "lessons/12-workers-that-wait/README.zh.md",
    "lessons/13-the-server-calls-the-app/README.zh.md",
    "lessons/14-your-app-in-production/README.zh.md",
];

#[test]
fn every_page_has_its_own_test() {
    let mut want: Vec<String> = pages();
    want.extend(chinese_pages());
    want.sort();
    let mut have: Vec<String> = PAGES
        .iter()
        .chain(CHINESE_PAGES)
        .map(|p| p.to_string())
        .collect();
    have.sort();
    assert_eq!(
        have, want,
        "add a test for each new page to tests/lessons/pages.rs"
    );
}

#[test]
fn readme() {
    check_page("README.md");
}

#[test]
fn lessons_index() {
    check_page("lessons/README.md");
}

#[test]
fn lesson_01_hello_cgi() {
    check_page("lessons/01-hello-cgi/README.md");
}

#[test]
fn lesson_02_the_environment() {
    check_page("lessons/02-the-environment/README.md");
}

#[test]
fn lesson_03_responses_and_failures() {
    check_page("lessons/03-responses-and-failures/README.md");
}

#[test]
fn lesson_04_the_price_of_a_process() {
    check_page("lessons/04-the-price-of-a-process/README.md");
}

#[test]
fn lesson_05_the_gateway_idea() {
    check_page("lessons/05-the-gateway-idea/README.md");
}

#[test]
fn lesson_06_workers_that_stay() {
    check_page("lessons/06-workers-that-stay/README.md");
}

#[test]
fn lesson_07_the_supervisors_jobs() {
    check_page("lessons/07-the-supervisors-jobs/README.md");
}

#[test]
fn lesson_08_head_to_head() {
    check_page("lessons/08-head-to-head/README.md");
}

#[test]
fn lesson_09_what_a_host_must_refuse() {
    check_page("lessons/09-what-a-host-must-refuse/README.md");
}

#[test]
fn lesson_10_your_flask_app() {
    check_page("lessons/10-your-flask-app/README.md");
}

#[test]
fn lesson_11_the_three_layers() {
    check_page("lessons/11-the-three-layers/README.md");
}

#[test]
fn lesson_12_workers_that_wait() {
    check_page("lessons/12-workers-that-wait/README.md");
}

/// Every step of lesson 13 embeds Python (`--embed`), so its page runs in a build with
/// the feature: `cargo test --features python --test lessons`, as `.ci/run` does.
#[cfg(feature = "python")]
#[test]
fn lesson_13_the_server_calls_the_app() {
    check_page("lessons/13-the-server-calls-the-app/README.md");
}

#[test]
fn lesson_14_your_app_in_production() {
    check_page("lessons/14-your-app-in-production/README.md");
}

// The Chinese pages' tests are named `zh_…`, so that they sort after every English one:
// the runner takes tests in name order, and two editions of one lesson wait for each
// other (`support::edition_lock`), so side by side they would run one at a time.

#[test]
fn zh_lessons_index() {
    check_page("lessons/README.zh.md");
}

#[test]
fn zh_lesson_01_hello_cgi() {
    check_page("lessons/01-hello-cgi/README.zh.md");
}

#[test]
fn zh_lesson_02_the_environment() {
    check_page("lessons/02-the-environment/README.zh.md");
}

#[test]
fn zh_lesson_03_responses_and_failures() {
    check_page("lessons/03-responses-and-failures/README.zh.md");
}

#[test]
fn zh_lesson_04_the_price_of_a_process() {
    check_page("lessons/04-the-price-of-a-process/README.zh.md");
}

#[test]
fn zh_lesson_05_the_gateway_idea() {
    check_page("lessons/05-the-gateway-idea/README.zh.md");
}

#[test]
fn zh_lesson_06_workers_that_stay() {
    check_page("lessons/06-workers-that-stay/README.zh.md");
}

#[test]
fn zh_lesson_07_the_supervisors_jobs() {
    check_page("lessons/07-the-supervisors-jobs/README.zh.md");
}

#[test]
fn zh_lesson_08_head_to_head() {
    check_page("lessons/08-head-to-head/README.zh.md");
}

#[test]
fn zh_lesson_09_what_a_host_must_refuse() {
    check_page("lessons/09-what-a-host-must-refuse/README.zh.md");
}

#[test]
fn zh_lesson_12_workers_that_wait() {
    check_page("lessons/12-workers-that-wait/README.zh.md");
}

#[test]
fn zh_lesson_10_your_flask_app() {
    check_page("lessons/10-your-flask-app/README.zh.md");
}

#[test]
fn zh_lesson_11_the_three_layers() {
    check_page("lessons/11-the-three-layers/README.zh.md");
}

/// Embeds Python, as the English page does: run with `--features python`.
#[cfg(feature = "python")]
#[test]
fn zh_lesson_13_the_server_calls_the_app() {
    check_page("lessons/13-the-server-calls-the-app/README.zh.md");
}

#[test]
fn zh_lesson_14_your_app_in_production() {
    check_page("lessons/14-your-app-in-production/README.zh.md");
}
