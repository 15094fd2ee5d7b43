//! The save step of the modules that edit a text file in place (`lineinfile`,
//! `blockinfile`, `replace`): create the missing parent directory of a new file,
//! write the new content (with `backup` and `validate`), bring `mode`/`owner`/`group`
//! to what was asked, and word the message as Ansible's `check_file_attrs` does.

use crate::modules::content::{ContentWrite, write_content};
use crate::modules::files::{AttrParams, apply_attrs, parent_dir};
use crate::modules::{Args, ModuleContext, ModuleResult};

/// A file edit decided by a module, ready to be saved.
pub struct Edit<'a> {
    /// Where to write: the path with its symlinks resolved.
    pub real: &'a str,
    /// The file existed before the edit.
    pub existed: bool,
    /// The content differs from what was there.
    pub changed: bool,
    pub after: &'a [u8],
    /// The module's message for the content change ("Block inserted", "" when none).
    pub msg: String,
}

/// What [`save_edit`] did.
#[derive(Debug)]
pub struct Saved {
    pub changed: bool,
    pub msg: String,
    /// The backup made of the old content, when `backup` asked for one.
    pub backup: Option<String>,
}

/// [`save_edit`], its outcome put on `result` as `blockinfile` and `replace` report
/// it: `changed`, `msg`, and `backup_file` when a backup was made (a failure replaces
/// the result).
pub fn save_edit_into(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
    edit: &Edit<'_>,
    mut result: ModuleResult,
) -> ModuleResult {
    match save_edit(ctx, args, edit) {
        Err(failed) => *failed,
        Ok(saved) => {
            result.changed = saved.changed;
            result.msg = Some(saved.msg);
            match saved.backup {
                Some(backup) => result.with("backup_file", backup),
                None => result,
            }
        }
    }
}

/// Write an edit as Ansible's line-editing modules do (honouring check mode). A
/// failure (validation, the host) comes back as the failed result to report, with
/// the file untouched.
pub fn save_edit(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
    edit: &Edit<'_>,
) -> Result<Saved, Box<ModuleResult>> {
    let failed = |msg: String| Box::new(ModuleResult::failed(msg));
    let attrs = AttrParams::from_args(args);
    let mut saved = Saved {
        changed: edit.changed,
        msg: edit.msg.clone(),
        backup: None,
    };
    let mut attrs_changed = false;
    if edit.changed {
        if !edit.existed && !ctx.check_mode {
            ctx.conn
                .mkdir_all(&parent_dir(edit.real), None)
                .map_err(|e| failed(e.message))?;
        }
        let write = ContentWrite {
            dest: edit.real,
            content: edit.after,
            attrs: &attrs,
            backup: args.bool("backup"),
            validate: args.str("validate"),
            before_header: None,
            after_header: None,
            check_mode: ctx.check_mode,
            diff_mode: false,
        };
        let outcome = write_content(ctx.conn, &write).map_err(validate_message)?;
        saved.backup = outcome.backup_file;
        // A new file is written with its attributes at once: only its content changed.
        attrs_changed = outcome.attrs_changed && edit.existed;
    } else if edit.existed {
        attrs_changed = apply_attrs(ctx.conn, edit.real, &attrs, true, ctx.check_mode)
            .map_err(failed)?
            .changed;
    }
    if attrs_changed {
        if saved.changed {
            saved.msg.push_str(" and ");
        }
        saved
            .msg
            .push_str("ownership, perms or SE linux context changed");
        saved.changed = true;
    }
    Ok(saved)
}

/// These modules word a rejected validation `failed to validate: rc:N error:STDERR`
/// (where `copy` returns the command's output as keys).
fn validate_message(failed: Box<ModuleResult>) -> Box<ModuleResult> {
    if failed.msg.as_deref() != Some("failed to validate") {
        return failed;
    }
    let rc = failed.data.get("exit_status").cloned().unwrap_or_default();
    let stderr = failed
        .data
        .get("stderr")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    Box::new(ModuleResult::failed(format!(
        "failed to validate: rc:{rc} error:{stderr}"
    )))
}
