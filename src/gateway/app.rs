//! The gateway's interface: an app is a value the server calls with the request's
//! environ and body ([`App`]), and a set of apps by name ([`Apps`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use crate::request::environ::Environ;

/// A gateway app. Closures `Fn(AppRequest) -> AppResponse` are apps too.
pub trait App: Send + Sync {
    /// Answers one request. Called from many threads at once.
    fn call(&self, req: AppRequest<'_>) -> AppResponse;
}

impl<F> App for F
where
    F: Fn(AppRequest<'_>) -> AppResponse + Send + Sync,
{
    fn call(&self, req: AppRequest<'_>) -> AppResponse {
        self(req)
    }
}

/// What an app receives.
pub struct AppRequest<'a> {
    /// The meta-variables (`REQUEST_METHOD`, `QUERY_STRING`, `HTTP_*`, ...).
    pub environ: &'a Environ,
    /// The request body (`CONTENT_LENGTH` bytes).
    pub input: &'a mut (dyn Read + Send),
}

/// What an app answers.
pub struct AppResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: AppBody,
}

/// An app's response body.
pub enum AppBody {
    /// All of it at once; sent with `Content-Length`.
    Full(Vec<u8>),
    /// Pieces sent as they are produced (chunked), like a WSGI generator.
    Stream(Box<dyn Iterator<Item = Vec<u8>> + Send>),
}

impl AppResponse {
    /// A complete response with one `Content-Type`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> AppResponse {
        AppResponse {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: AppBody::Full(body.into()),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> AppResponse {
        AppResponse::new(status, "text/plain", body)
    }

    /// Adds a header field.
    pub fn with_header(mut self, name: &str, value: &str) -> AppResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// The apps a server can call, by name.
#[derive(Clone, Default)]
pub struct Apps {
    apps: BTreeMap<String, Arc<dyn App>>,
}

impl Apps {
    /// No apps.
    pub fn empty() -> Apps {
        Apps::default()
    }

    /// Adds (or replaces) app `name`, served at `/app/NAME`.
    pub fn with(mut self, name: &str, app: impl App + 'static) -> Apps {
        self.apps.insert(name.to_string(), Arc::new(app));
        self
    }

    /// The app called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn App> {
        self.apps.get(name).map(|a| a.as_ref())
    }

    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.apps.keys().map(String::as_str)
    }
}
