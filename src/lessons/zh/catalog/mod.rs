//! The catalog: each English message of the course beside its Chinese form. The
//! exercises' titles and tasks, what every check says, then one file per check, named
//! as in `checks/`, in the order of the lessons. [`super::message`] looks a message up
//! here.

mod bench_csv;
mod checks;
mod client_ip;
mod compiled;
mod counter;
mod create;
mod deploy;
mod echo;
mod exercises;
mod flask_app;
mod hello;
mod hits;
mod meet;
mod notes;
mod tally;
mod visits;

/// Every part, as (English, Chinese) pairs.
const PARTS: &[&[(&str, &str)]] = &[
    exercises::MESSAGES,
    checks::MESSAGES,
    hello::MESSAGES,
    echo::MESSAGES,
    create::MESSAGES,
    compiled::MESSAGES,
    counter::MESSAGES,
    tally::MESSAGES,
    hits::MESSAGES,
    bench_csv::MESSAGES,
    notes::MESSAGES,
    flask_app::MESSAGES,
    client_ip::MESSAGES,
    visits::MESSAGES,
    meet::MESSAGES,
    deploy::MESSAGES,
];

/// Every (English, Chinese) pair of the course.
pub fn messages() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    PARTS.iter().flat_map(|part| part.iter())
}
