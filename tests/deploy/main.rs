//! Real apps deployed as the course deploys them (lesson 14): flaskr and a Django site
//! behind a real nginx at `/`, over a unix socket, under cgilab and then under gunicorn,
//! with the lesson's own nginx.conf. Each flow is 20 or more requests, and the URLs
//! (`Location`) and cookies (names and attributes) the apps send through cgilab are the
//! ones they send through gunicorn.
//!
//! Modules:
//!
//! - [`support`]: the site (a temporary directory with the apps, the lesson's nginx files
//!   and the sockets), the servers (killed by their PIDs when dropped), a client that
//!   keeps cookies and records what each response said.
//! - [`flaskr`]: Flask's tutorial app: register, log in, write, edit and delete a post,
//!   log out; redirects, static files from nginx, HEAD.
//! - [`django`]: a Django site's admin: log in with a CSRF token, a change list, add,
//!   change and delete a group, log out; static files from nginx, HEAD.
//! - [`unit`]: the lesson's systemd unit file.

mod support;

mod django;
mod flaskr;
mod unit;
