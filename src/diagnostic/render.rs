//! The one renderer for errors: `error: message`, `--> file:line:col`, the source line
//! with a caret, and `help: hint`. Colours follow the `console` crate's rules
//! (off for non-TTY stderr and for `NO_COLOR`).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::Error;

/// Render `err` for a person reading stderr.
pub fn render(err: &Error) -> String {
    let renderer = if console::colors_enabled_stderr() {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let title = Level::ERROR.primary_title(err.message.as_str());
    let source = err.span.as_ref().and_then(|span| {
        let text = std::fs::read_to_string(span.path()).ok()?;
        let line = text.lines().nth(span.line.checked_sub(1)?)?.to_string();
        Some((span, line))
    });
    let path_display;
    let mut groups: Vec<Group<'_>> = Vec::new();
    match &source {
        Some((span, line)) => {
            path_display = span.file.display().to_string();
            // The caret covers the token under the column (a word), or one character.
            let start = char_to_byte(line, span.column.saturating_sub(1));
            let end = token_end(line, start);
            groups.push(
                title.element(
                    Snippet::source(line.as_str())
                        .line_start(span.line)
                        .path(path_display.as_str())
                        .annotation(AnnotationKind::Primary.span(start..end)),
                ),
            );
        }
        None => match &err.span {
            Some(span) => {
                path_display = span.to_string();
                groups.push(title.element(annotate_snippets::Origin::path(path_display.as_str())));
            }
            None => groups.push(Group::with_title(title)),
        },
    }
    if let Some(hint) = &err.hint {
        groups.push(Group::with_title(
            Level::HELP.secondary_title(hint.as_str()),
        ));
    }
    renderer.render(&groups)
}

fn char_to_byte(line: &str, chars: usize) -> usize {
    line.char_indices()
        .nth(chars)
        .map_or(line.len(), |(i, _)| i)
}

fn token_end(line: &str, start: usize) -> usize {
    let rest = &line[start..];
    let word = rest
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || matches!(c, ':' | ',' | '[' | ']' | '{' | '}'))
        .map_or(rest.len(), |(i, _)| i);
    let len = if word == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        word
    };
    start + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Span;
    use std::sync::Arc;

    #[test]
    fn renders_location_line_and_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("play.yml");
        std::fs::write(&path, "- hosts: all\n  taks:\n    - ping:\n").unwrap();
        let err = Error::parse("unknown play keyword 'taks'")
            .at(Span::new(Arc::new(path.clone()), 2, 3))
            .with_hint("did you mean 'tasks'?");
        let out = render(&err);
        assert!(out.contains("unknown play keyword 'taks'"), "{out}");
        assert!(out.contains("play.yml:2:3"), "{out}");
        assert!(out.contains("  taks:"), "{out}");
        assert!(out.contains("^^^^"), "{out}");
        assert!(out.contains("did you mean 'tasks'?"), "{out}");
    }
}
