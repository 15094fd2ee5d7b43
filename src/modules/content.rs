//! The one content-writing step shared by `copy`, `template` and `lineinfile`:
//! compare with what is there, validate the new content, back up the old, write
//! atomically, set attributes, and shape the `diff` and the result.

use chrono::Local;

use crate::connection::{Connection, ExecRequest};
use crate::modules::files::{self, AttrParams};
use crate::modules::{Diff, ModuleResult, output};

/// One file to bring to a given content.
pub struct ContentWrite<'a> {
    pub dest: &'a str,
    pub content: &'a [u8],
    pub attrs: &'a AttrParams,
    pub backup: bool,
    /// A command with `%s` for the path of the new content, run before it replaces `dest`.
    pub validate: Option<&'a str>,
    /// Diff headers: `None` leaves a side without one, as Ansible's modules do.
    pub before_header: Option<String>,
    pub after_header: Option<String>,
    pub check_mode: bool,
    pub diff_mode: bool,
}

/// What [`write_content`] did.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    /// The content differed (and was written, unless in check mode).
    pub content_changed: bool,
    /// Mode, owner or group differed.
    pub attrs_changed: bool,
    pub backup_file: Option<String>,
    pub diff: Option<Diff>,
}

impl WriteOutcome {
    pub fn changed(&self) -> bool {
        self.content_changed || self.attrs_changed
    }
}

/// Bring `w.dest` to `w.content`. A failed validation, or a failure of the host,
/// comes back as the failed [`ModuleResult`] to report, with `dest` untouched.
pub fn write_content(
    conn: &mut dyn Connection,
    w: &ContentWrite<'_>,
) -> Result<WriteOutcome, Box<ModuleResult>> {
    write_inner(conn, w).map_err(|e| match e {
        WriteError::Failed(result) => result,
        WriteError::Message(msg) => Box::new(ModuleResult::failed(msg)),
    })
}

enum WriteError {
    Failed(Box<ModuleResult>),
    Message(String),
}

impl<E: Into<String>> From<E> for WriteError {
    fn from(e: E) -> WriteError {
        WriteError::Message(e.into())
    }
}

fn write_inner(
    conn: &mut dyn Connection,
    w: &ContentWrite<'_>,
) -> Result<WriteOutcome, WriteError> {
    let (existing, before) = match conn.stat_and_read(w.dest)? {
        Some((st, _)) if st.kind == crate::connection::FileKind::Dir => {
            return Err(format!("Destination {} is a directory", w.dest).into());
        }
        // Not a regular file (a device, a fifo): read as it is.
        Some((st, None)) => (Some(st), conn.read_file(w.dest)?),
        Some((st, Some(content))) => (Some(st), content),
        None => (None, Vec::new()),
    };
    let mut outcome = WriteOutcome {
        content_changed: existing.is_none() || before != w.content,
        ..WriteOutcome::default()
    };
    if outcome.content_changed && w.diff_mode {
        outcome.diff = Some(Diff {
            before: String::from_utf8_lossy(&before).into_owned(),
            after: String::from_utf8_lossy(w.content).into_owned(),
            before_header: w.before_header.clone().filter(|_| existing.is_some()),
            after_header: w.after_header.clone(),
            ..Diff::default()
        });
    }
    // What differs before anything is written; a new file is simply created with its
    // attributes, so only its content counts as the change.
    if existing.is_some() {
        outcome.attrs_changed = files::apply_attrs(conn, w.dest, w.attrs, true, true)?.changed;
    }
    if w.check_mode {
        return Ok(outcome);
    }
    if outcome.content_changed {
        if let Some(validate) = w.validate {
            validate_content(conn, w, validate)?;
        }
        if w.backup && existing.is_some() {
            outcome.backup_file = Some(backup_file(conn, w.dest, &before)?);
        }
        // The new content never shows with the old permissions: they are set on the
        // temporary file before it takes the place of `dest`.
        let base = existing.as_ref().map_or(0o644, |st| st.mode);
        conn.write_file(w.dest, w.content, &w.attrs.for_new_file(base)?)?;
    } else if outcome.attrs_changed {
        files::apply_attrs(conn, w.dest, w.attrs, true, false)?;
    }
    Ok(outcome)
}

/// Write the new content beside `dest`, run the validator on it, and remove it.
fn validate_content(
    conn: &mut dyn Connection,
    w: &ContentWrite<'_>,
    validate: &str,
) -> Result<(), WriteError> {
    if !validate.contains("%s") {
        return Err(format!("validate must contain %s: {validate}").into());
    }
    let name = w.dest.rsplit('/').next().unwrap_or(w.dest);
    let tmp = format!(
        "{}/.{name}.{}.srplay-validate",
        files::parent_dir(w.dest).trim_end_matches('/'),
        std::process::id()
    );
    conn.write_file(&tmp, w.content, &w.attrs.for_new_file(0o600)?)?;
    let quoted = shlex::try_quote(&tmp).map_err(|e| e.to_string())?;
    let argv = shlex::split(&validate.replace("%s", &quoted));
    let out = match argv {
        Some(argv) if !argv.is_empty() => conn.exec(&ExecRequest::argv(argv)),
        _ => Err(crate::connection::ConnError::new(format!(
            "cannot parse validate command: {validate}"
        ))),
    };
    conn.remove(&tmp, false)?;
    let out = out?;
    if out.rc == 0 {
        return Ok(());
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // As Ansible: `ansible localhost -m copy -a 'content=x dest=/tmp/v validate="false %s"'`.
    let result = ModuleResult::failed("failed to validate")
        .with("exit_status", out.rc)
        .with("stdout_lines", output::lines(&stdout))
        .with("stdout", stdout)
        .with("stderr_lines", output::lines(&stderr))
        .with("stderr", stderr)
        .with("checksum", files::sha1_hex(w.content));
    Err(WriteError::Failed(Box::new(result)))
}

/// Where a backup of `dest` goes: `dest.PID.YYYY-MM-DD@HH:MM:SS~`, as Ansible's
/// `backup_local` names it.
pub fn backup_name(dest: &str) -> String {
    let stamp = Local::now().format("%Y-%m-%d@%H:%M:%S~");
    format!("{dest}.{}.{stamp}", std::process::id())
}

/// Copy the current content to [`backup_name`] with its attributes.
fn backup_file(conn: &mut dyn Connection, dest: &str, before: &[u8]) -> Result<String, String> {
    let path = backup_name(dest);
    let st = conn.stat(dest, true)?;
    let attrs = crate::connection::FileAttrs {
        mode: st.as_ref().map(|s| s.mode),
        owner: st.as_ref().map(|s| s.uid.to_string()),
        group: st.as_ref().map(|s| s.gid.to_string()),
    };
    conn.write_file(&path, before, &attrs)?;
    Ok(path)
}
