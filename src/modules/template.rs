//! `template`: render a Jinja2 template from the controller and put it on the host.
//!
//! `src` is looked up relative to the role's `templates/` and the playbook directory,
//! rendered with the host's variables (`trim_blocks`, `lstrip_blocks`,
//! `newline_sequence` and the `*_start_string`/`*_end_string` delimiters shape the
//! rendering; a `#jinja2:` first line may set them too), then written exactly as
//! `copy` writes `content`: `dest` (a directory receives `dest/basename(src)`),
//! `backup`, `force`, `validate`, `mode` (octal, symbolic or `preserve`), `owner`,
//! `group`, `follow`. Returns what `copy` returns.
//!
//! Not supported: `comment_start_string`/`comment_end_string`, `output_encoding`
//! other than UTF-8, `attributes`, SELinux options, `unsafe_writes`.

use std::os::unix::fs::PermissionsExt;

use crate::modules::copy::{Options, copy_file};
use crate::modules::files::find_local_src;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param, TemplateOptions,
};

pub struct Template;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("src", Kind::Path).required(),
    Param::new("dest", Kind::Path).required(),
    Param::new("backup", Kind::Bool).default("no"),
    Param::new("force", Kind::Bool).default("yes"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("validate", Kind::Str),
    Param::new("follow", Kind::Bool).default("no"),
    // Written escaped (`'\\r\\n'`) or as the characters themselves (`"\\r\\n"` in YAML).
    Param::new("newline_sequence", Kind::Str)
        .default("\\n")
        .choices(&["\\n", "\\r", "\\r\\n", "\n", "\r", "\r\n"]),
    Param::new("trim_blocks", Kind::Bool).default("yes"),
    Param::new("lstrip_blocks", Kind::Bool).default("no"),
    Param::new("variable_start_string", Kind::Str),
    Param::new("variable_end_string", Kind::Str),
    Param::new("block_start_string", Kind::Str),
    Param::new("block_end_string", Kind::Str),
]);

impl Module for Template {
    fn name(&self) -> &'static str {
        "template"
    }

    fn diff_is_list(&self) -> bool {
        true
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let src = args.str("src").unwrap_or("");
        let path = match find_local_src(ctx.search_paths, src, "templates") {
            Ok(path) => path,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        // A vaulted template is decrypted, as Ansible's loader reads every template.
        let read = crate::vault::read_controller_file(&path, true).and_then(|data| {
            let meta = std::fs::metadata(&path)
                .map_err(|e| format!("could not read {}: {e}", path.display()))?;
            Ok((data, meta.permissions().mode() & 0o7777))
        });
        let (source, src_mode) = match read {
            Ok((data, mode)) => (String::from_utf8_lossy(&data).into_owned(), mode),
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let opts = TemplateOptions {
            trim_blocks: args.bool("trim_blocks"),
            lstrip_blocks: args.bool("lstrip_blocks"),
            // The parameter is written escaped (`\r\n`), as in Ansible's choices.
            newline_sequence: args
                .str("newline_sequence")
                .unwrap_or("\\n")
                .replace("\\r", "\r")
                .replace("\\n", "\n"),
            variable_start_string: args.str("variable_start_string").map(str::to_string),
            variable_end_string: args.str("variable_end_string").map(str::to_string),
            block_start_string: args.str("block_start_string").map(str::to_string),
            block_end_string: args.str("block_end_string").map(str::to_string),
        };
        let rendered = match ctx.templating.render_file(&source, &path, &opts) {
            Ok(text) => text,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let dest = crate::modules::files::expand_user(ctx.conn, args.str("dest").unwrap_or(""))?;
        let copy_opts = Options::from_args(args, ctx);
        copy_file(
            ctx,
            &copy_opts,
            &dest,
            rendered.as_bytes(),
            Some(src_mode),
            Some(src),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn renders_from_templates_dir_then_idempotent() {
        let mut h = Harness::new().diff().var("name", json!("world"));
        h.write("templates/t.j2", "hello {{ name }}\n");
        let dest = h.path("out");
        let r = h.run(
            &Template,
            json!({"src": "t.j2", "dest": dest, "mode": "0640"}),
        );
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(h.read("out"), "hello world\n");
        assert_eq!(r.data["mode"], json!("0640"));
        assert_eq!(r.diff[0].after, "hello world\n");
        assert_eq!(r.diff[0].after_header.as_deref(), Some("t.j2"));
        let r = h.run(
            &Template,
            json!({"src": "t.j2", "dest": dest, "mode": "0640"}),
        );
        assert!(!r.changed);
    }

    #[test]
    fn newline_sequence_and_errors() {
        let mut h = Harness::new().var("name", json!("x"));
        h.write("t.j2", "a {{ name }}\nb\n");
        let dest = h.path("crlf");
        let r = h.run(
            &Template,
            json!({"src": "t.j2", "dest": dest, "newline_sequence": "\\r\\n"}),
        );
        assert!(r.changed, "{r:?}");
        let real = h.path("real-crlf");
        h.run(
            &Template,
            json!({"src": "t.j2", "dest": real, "newline_sequence": "\r\n"}),
        );
        assert_eq!(std::fs::read(&real).unwrap(), std::fs::read(&dest).unwrap());
        assert_eq!(h.read("crlf"), "a x\r\nb\r\n");
        h.write("bad.j2", "{{ nope }}");
        let r = h.run(&Template, json!({"src": "bad.j2", "dest": dest}));
        assert!(r.failed);
        assert_eq!(h.read("crlf"), "a x\r\nb\r\n");
        let r = h.run(&Template, json!({"src": "missing.j2", "dest": dest}));
        assert!(r.msg.unwrap().contains("/templates/missing.j2"));
    }

    #[test]
    fn check_mode_renders_but_does_not_write() {
        let mut h = Harness::new().check().var("name", json!("x"));
        h.write("t.j2", "{{ name }}");
        let dest = h.path("out");
        let r = h.run(&Template, json!({"src": "t.j2", "dest": dest}));
        assert!(r.changed);
        assert!(!std::path::Path::new(&dest).exists());
    }
}
