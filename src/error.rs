//! One error type for the whole library: a kind (for exit codes and callers) and a message
//! whose most specific context comes first.

use std::fmt;

/// What went wrong, coarsely; the message says exactly what.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration (file or flags) is invalid or incomplete.
    Config,
    /// A document of the input stream is not valid YAML, or exceeds a limit.
    Yaml,
    /// The input is valid YAML but cannot be wired as asked (e.g. full mode with no keys).
    Input,
    /// An existing annotation or object disagrees with what vaultwire would write.
    Conflict,
    /// `--strict` turned warnings into an error.
    Strict,
}

/// Where in the stream an error or a change happened. Every part is optional; the rendering
/// puts the document first and narrows down to the env entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// 1-based position of the document in the input stream.
    pub document: Option<usize>,
    /// The template file the document came from (`# Source:` or the Helm 4 annotation).
    pub source: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub container: Option<String>,
    pub env: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(n) = self.document {
            let mut doc = format!("document {n}");
            let mut inner = Vec::new();
            if let Some(src) = &self.source {
                inner.push(src.clone());
            }
            match (&self.kind, &self.name) {
                (Some(k), Some(n)) => inner.push(format!("{k} '{n}'")),
                (Some(k), None) => inner.push(k.clone()),
                _ => {}
            }
            if !inner.is_empty() {
                doc.push_str(&format!(" ({})", inner.join(", ")));
            }
            parts.push(doc);
        }
        if let Some(c) = &self.container {
            parts.push(format!("container '{c}'"));
        }
        if let Some(e) = &self.env {
            parts.push(format!("env '{e}'"));
        }
        f.write_str(&parts.join(": "))
    }
}

/// The library's error. `Display` gives `<place>: <message>`, lower-case, no trailing period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    // Boxed: errors are rare and results on the happy path stay small.
    place: Box<Place>,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            place: Box::default(),
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub fn at(mut self, place: Place) -> Self {
        self.place = Box::new(place);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn place(&self) -> &Place {
        &self.place
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = self.place.to_string();
        if place.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{place}: {}", self.message)
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
