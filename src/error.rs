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
    /// `lint` found something, or a `check` read would fail: the run worked, the answer is no.
    Findings,
    /// Reading or writing a file, stdin, stdout or a socket failed.
    Io,
}

impl ErrorKind {
    /// The documented exit code: 2 for how vaultwire was called, configured or could do I/O,
    /// 1 for a stream that cannot be wired as asked and for findings.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Config | ErrorKind::Io => 2,
            ErrorKind::Yaml
            | ErrorKind::Input
            | ErrorKind::Conflict
            | ErrorKind::Strict
            | ErrorKind::Findings => 1,
        }
    }
}

/// Where in the stream an error, a change or a finding is: the one place type of errors,
/// reports and lint. The rendering puts the document first and narrows down to the env entry;
/// in JSON its parts are flat fields (`document`, `source`, `kind`, `name`, and `container`,
/// `env` when known).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    /// 1-based position of the document in the input stream; 0: none (a document vaultwire
    /// adds, or an error of the configuration).
    pub document: usize,
    /// The template file the document came from (`# Source:` or the Helm 4 annotation).
    pub source: Option<String>,
    /// Empty when unknown.
    pub kind: String,
    /// Empty when unknown.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl Place {
    /// The document and object alone, without container and env (for records that name
    /// those themselves).
    pub fn object(&self) -> Place {
        Place {
            container: None,
            env: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let mut inner = Vec::new();
        if let Some(src) = &self.source {
            inner.push(src.clone());
        }
        match (self.kind.is_empty(), self.name.is_empty()) {
            (false, false) => inner.push(format!("{} '{}'", self.kind, self.name)),
            (false, true) => inner.push(self.kind.clone()),
            _ => {}
        }
        if self.document > 0 {
            let mut doc = format!("document {}", self.document);
            if !inner.is_empty() {
                doc.push_str(&format!(" ({})", inner.join(", ")));
            }
            parts.push(doc);
        } else if !inner.is_empty() {
            parts.push(inner.join(", "));
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
