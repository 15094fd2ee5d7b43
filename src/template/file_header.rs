//! The `#jinja2:` first line of a template file, which overrides environment options
//! (`#jinja2: trim_blocks: False, lstrip_blocks: True`) and is removed from the output.

use super::TemplateError;
use super::engine::FileSyntax;

/// Applies a `#jinja2:` header to `syntax` and returns the body without it.
pub(crate) fn apply<'a>(
    source: &'a str,
    syntax: &mut FileSyntax,
    newline: &mut String,
) -> Result<&'a str, TemplateError> {
    let Some(rest) = source.strip_prefix("#jinja2:") else {
        return Ok(source);
    };
    let (line, body) = rest.split_once('\n').unwrap_or((rest, ""));
    for pair in line.split(',') {
        let Some((key, value)) = pair.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let value = unquote(value.trim());
        let flag = || match value.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(TemplateError::msg(format!(
                "invalid value '{value}' for '{key}' in the #jinja2: header"
            ))),
        };
        match key {
            "trim_blocks" => syntax.trim_blocks = flag()?,
            "lstrip_blocks" => syntax.lstrip_blocks = flag()?,
            "keep_trailing_newline" => syntax.keep_trailing_newline = flag()?,
            "newline_sequence" => *newline = unescape(value),
            "variable_start_string" => set_start(&mut syntax.variable, value, "}}"),
            "variable_end_string" => set_end(&mut syntax.variable, value, "{{"),
            "block_start_string" => set_start(&mut syntax.block, value, "%}"),
            "block_end_string" => set_end(&mut syntax.block, value, "{%"),
            _ => {}
        }
    }
    Ok(body)
}

fn unquote(v: &str) -> &str {
    v.strip_prefix(['"', '\''])
        .and_then(|v| v.strip_suffix(['"', '\'']))
        .unwrap_or(v)
}

pub(crate) fn unescape(v: &str) -> String {
    v.replace("\\r", "\r").replace("\\n", "\n")
}

fn set_start(pair: &mut Option<(String, String)>, start: &str, default_end: &str) {
    let end = pair.take().map_or(default_end.to_string(), |(_, e)| e);
    *pair = Some((start.to_string(), end));
}

fn set_end(pair: &mut Option<(String, String)>, end: &str, default_start: &str) {
    let start = pair.take().map_or(default_start.to_string(), |(s, _)| s);
    *pair = Some((start, end.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_overrides_and_is_removed() {
        let mut syntax = FileSyntax {
            trim_blocks: true,
            ..Default::default()
        };
        let mut nl = "\n".to_string();
        let body = apply(
            "#jinja2: trim_blocks: False, lstrip_blocks: True\nbody\n",
            &mut syntax,
            &mut nl,
        )
        .unwrap();
        assert_eq!(body, "body\n");
        assert!(!syntax.trim_blocks);
        assert!(syntax.lstrip_blocks);
    }

    #[test]
    fn header_with_delimiters() {
        let mut syntax = FileSyntax::default();
        let mut nl = "\n".to_string();
        apply(
            "#jinja2: variable_start_string: '[%', variable_end_string: '%]'\nx",
            &mut syntax,
            &mut nl,
        )
        .unwrap();
        assert_eq!(syntax.variable, Some(("[%".to_string(), "%]".to_string())));
    }
}
