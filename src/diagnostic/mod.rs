//! Errors as values: what went wrong, where (file, line, column), and a hint.
//!
//! Every layer returns [`Error`]; it is rendered once, at the edge, by [`render`],
//! which shows the source line with a caret when the error has a [`Span`].

mod render;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use render::render;

/// A position in a source file: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub column: usize,
}

impl Span {
    pub fn new(file: Arc<PathBuf>, line: usize, column: usize) -> Span {
        Span { file, line, column }
    }

    pub fn path(&self) -> &Path {
        &self.file
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// What kind of failure an [`Error`] is: decides the exit code, as ansible-playbook's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed YAML, unknown keyword or module, bad structure: exit 4 (as Ansible's parser errors).
    Parse,
    /// A template that does not compile or render, an undefined variable.
    Template,
    /// Bad command-line options or values: exit 5.
    Options,
    /// A file that cannot be read or written.
    Io,
    /// A host could not be reached.
    Connection,
    /// Anything else that stops the run: exit 1.
    Other,
}

impl ErrorKind {
    /// ansible-playbook's exit code for an error of this kind that stops the whole run.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Parse => 4,
            ErrorKind::Options => 5,
            ErrorKind::Connection => 4,
            ErrorKind::Template | ErrorKind::Io | ErrorKind::Other => 1,
        }
    }
}

/// A failure with its context.
#[derive(Clone, Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            span: None,
            hint: None,
        }
    }

    pub fn parse(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Parse, message)
    }

    pub fn template(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Template, message)
    }

    pub fn options(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Options, message)
    }

    pub fn other(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Other, message)
    }

    /// An I/O failure on `path`.
    pub fn io(path: &Path, err: &std::io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("could not read {}: {err}", path.display()),
        )
    }

    pub fn at(mut self, span: Span) -> Error {
        self.span = Some(span);
        self
    }

    /// Attach a span unless the error already points somewhere more precise.
    pub fn or_at(mut self, span: Option<&Span>) -> Error {
        if self.span.is_none() {
            self.span = span.cloned();
        }
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{span}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// The known name nearest to `unknown`, for "did you mean" hints.
pub fn nearest<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(unknown, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos() {
        assert_eq!(nearest("shel", ["shell", "copy", "file"]), Some("shell"));
        assert_eq!(nearest("zzz", ["shell", "copy"]), None);
    }
}
