//! The file operations of [`Connection`](super::Connection) as small POSIX shell
//! scripts, for a host reached only through a shell: the SSH connection, and the local
//! one when it acts as another user (become). Each operation is one script, so one
//! round trip; every path is quoted.
//!
//! The scripts use what every Linux target has: `stat -c` (GNU coreutils or busybox),
//! `base64`, `cat`, `chmod`, `chown`, `mv`, `ln`, `touch`, `readlink`.

use base64::Engine as _;

use super::{
    Access, Command, ConnError, ConnResult, ExecOutput, ExecRequest, FileAttrs, FileKind, FileStat,
};

/// Something that runs a shell script on the host (as the user the task acts as).
pub trait ShellRunner {
    fn run_script(&mut self, script: &str) -> ConnResult<ExecOutput>;

    /// Run a query: a script that only looks (stat, read, test), never calls `exit`
    /// (its status is its last command's), changes no shell state and sets no
    /// variable. A runner with a long-lived shell may run it there without a subshell.
    fn run_query(&mut self, script: &str) -> ConnResult<ExecOutput> {
        self.run_script(script)
    }
}

/// Quote one word for a POSIX shell.
pub fn quote(word: &str) -> ConnResult<String> {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .map_err(|e| ConnError::new(format!("cannot quote {word:?} for the shell: {e}")))
}

/// The script that runs a command request: `export` of `env` and the request's own
/// variables, `cd` to its directory, then `exec` of the command (argv quoted word by
/// word, or `executable -c cmd`).
pub fn command_script(env: &[(String, String)], req: &ExecRequest) -> ConnResult<String> {
    let mut script = String::new();
    for (name, value) in env.iter().chain(req.env.iter()) {
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
            return Err(ConnError::new(format!(
                "invalid environment variable name {name:?}"
            )));
        }
        script.push_str(&format!("export {name}={}\n", quote(value)?));
    }
    if let Some(dir) = &req.chdir {
        script.push_str(&format!("cd -- {} || exit 1\n", quote(dir)?));
    }
    let line = match &req.command {
        Command::Argv(argv) if argv.is_empty() => return Err(ConnError::new("empty command")),
        Command::Argv(argv) => argv
            .iter()
            .map(|a| quote(a))
            .collect::<ConnResult<Vec<_>>>()?
            .join(" "),
        Command::Shell { cmd, executable } => format!(
            "{} -c {}",
            quote(executable.as_deref().unwrap_or("/bin/sh"))?,
            quote(cmd)?
        ),
    };
    script.push_str("exec ");
    script.push_str(&line);
    Ok(script)
}

/// Data given to a script as a here-document, decoded by `base64 -d`: binary-safe,
/// and it never ends the document early (base64 text has no `_`).
pub fn heredoc_base64(data: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(text.len() + text.len() / 76 + 32);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("SRPLAY_DATA_END\n");
    out
}

/// Run a script; a non-zero exit is an error carrying its stderr.
fn run_ok(r: &mut dyn ShellRunner, script: &str, what: &str) -> ConnResult<ExecOutput> {
    succeeded(r.run_script(script)?, what)
}

/// [`run_ok`] for a query (see [`ShellRunner::run_query`]).
fn query_ok(r: &mut dyn ShellRunner, script: &str, what: &str) -> ConnResult<ExecOutput> {
    succeeded(r.run_query(script)?, what)
}

fn succeeded(out: ExecOutput, what: &str) -> ConnResult<ExecOutput> {
    if out.rc != 0 {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(ConnError::new(if err.is_empty() {
            format!("{what} (exit status {})", out.rc)
        } else {
            format!("{what}: {err}")
        }));
    }
    Ok(out)
}

const STAT_FORMAT: &str = "%f|%u|%g|%U|%G|%s|%i|%d|%h|%x|%y|%z";

/// What `stat` says of a path without following a link, then following it: for
/// anything but a symlink the two are the same.
pub type StatPair = (Option<FileStat>, Option<FileStat>);

pub fn stat(r: &mut dyn ShellRunner, path: &str, follow: bool) -> ConnResult<Option<FileStat>> {
    let (lstat, stat) = stat_pair(r, path)?;
    Ok(if follow { stat } else { lstat })
}

/// Both answers of [`stat`] in one step, so that a cache can keep them both.
pub fn stat_pair(r: &mut dyn ShellRunner, path: &str) -> ConnResult<StatPair> {
    let script = stat_pair_script(&quote(path)?);
    let out = query_ok(r, &script, &format!("cannot stat {path}"))?;
    parse_stat_pair(&out.stdout, path)
}

/// [`stat_pair`] and, when the path is (or points to) a regular file, its content: what a
/// module that may rewrite a file reads first, in one step. The content follows a line
/// holding a token of this step's own, so that nothing in a stat line can end it early.
pub fn stat_and_read(
    r: &mut dyn ShellRunner,
    path: &str,
) -> ConnResult<(StatPair, Option<Vec<u8>>)> {
    let p = quote(path)?;
    let token = format!("SRPLAY_CONTENT_{:016x}", fastrand::u64(..));
    let script = format!(
        "{} && printf '%s\\n' {token} && if [ -f {p} ]; then cat -- {p}; fi\n",
        stat_pair_script(&p)
    );
    let out = query_ok(r, &script, &format!("cannot read {path}"))?;
    let marker = format!("{token}\n");
    let at = out
        .stdout
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .ok_or_else(|| ConnError::new(format!("cannot read {path}: unexpected output")))?;
    let pair = parse_stat_pair(&out.stdout[..at], path)?;
    let content = pair
        .1
        .as_ref()
        .is_some_and(|st| st.kind == FileKind::File)
        .then(|| out.stdout[at + marker.len()..].to_vec());
    Ok((pair, content))
}

/// Prints the path's own stat line (`missing` when there is nothing), and for a
/// symlink its target and the stat line of what it points to (`missing` if dangling).
/// One compound command, whose status is that of a failed `stat` (a query).
fn stat_pair_script(p: &str) -> String {
    format!(
        "if [ -L {p} ]; then stat -c '{STAT_FORMAT}' -- {p} && readlink -- {p} &&
         if [ -e {p} ]; then stat -L -c '{STAT_FORMAT}' -- {p}; else echo missing; fi
         elif [ -e {p} ]; then stat -c '{STAT_FORMAT}' -- {p}
         else echo missing; fi"
    )
}

fn parse_stat_pair(stdout: &[u8], path: &str) -> ConnResult<StatPair> {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.split('\n');
    let Some(mut own) = stat_line(lines.next(), path)? else {
        return Ok((None, None));
    };
    if own.kind != FileKind::Symlink {
        return Ok((Some(own.clone()), Some(own)));
    }
    own.link_target = lines.next().map(str::to_string);
    let followed = stat_line(lines.next(), path)?;
    Ok((Some(own), followed))
}

/// One line of [`stat_pair_script`]'s output: `missing`, or `STAT_FORMAT`'s fields.
fn stat_line(line: Option<&str>, path: &str) -> ConnResult<Option<FileStat>> {
    match line.unwrap_or_default() {
        "missing" => Ok(None),
        line => parse_stat(line).map(Some).ok_or_else(|| {
            ConnError::new(format!("cannot stat {path}: unexpected output {line:?}"))
        }),
    }
}

fn parse_stat(line: &str) -> Option<FileStat> {
    let f: Vec<&str> = line.split('|').collect();
    if f.len() != 12 {
        return None;
    }
    let raw = u32::from_str_radix(f[0], 16).ok()?;
    let kind = match raw & 0o170000 {
        0o100000 => FileKind::File,
        0o040000 => FileKind::Dir,
        0o120000 => FileKind::Symlink,
        0o010000 => FileKind::Fifo,
        0o140000 => FileKind::Socket,
        0o060000 => FileKind::BlockDevice,
        0o020000 => FileKind::CharDevice,
        _ => FileKind::Other,
    };
    Some(FileStat {
        kind,
        mode: raw & 0o7777,
        uid: f[1].parse().ok()?,
        gid: f[2].parse().ok()?,
        owner: f[3].to_string(),
        group: f[4].to_string(),
        size: f[5].parse().ok()?,
        inode: f[6].parse().ok()?,
        dev: f[7].parse().ok()?,
        nlink: f[8].parse().ok()?,
        atime: parse_time(f[9])?,
        mtime: parse_time(f[10])?,
        ctime: parse_time(f[11])?,
        link_target: None,
    })
}

/// `stat`'s human time (`2026-11-23 06:31:25.123456789 +0000`) to epoch seconds.
fn parse_time(text: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f %z").ok()?;
    Some(t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9)
}

pub fn read_file(r: &mut dyn ShellRunner, path: &str) -> ConnResult<Vec<u8>> {
    let script = format!("cat -- {}", quote(path)?);
    Ok(query_ok(r, &script, &format!("cannot read {path}"))?.stdout)
}

/// What the caller of [`write_file`] knows of the file it replaces, from a stat earlier in
/// the same task: with it, the step needs no `stat` of its own to keep mode and owner.
#[derive(Clone, Copy, Debug)]
pub enum Replaced<'a> {
    Unknown,
    Missing,
    Existing(&'a FileStat),
}

/// Where the new content of a file comes from.
pub enum Content<'a> {
    /// Sent inside the script (a base64 here-document).
    Inline(&'a [u8]),
    /// Already on the host (uploaded by SFTP) at this path; moved into place, or
    /// copied when it is not beside the destination.
    Uploaded { path: &'a str, beside: bool },
}

/// Atomic replace, as [`Connection::write_file`](super::Connection::write_file): a
/// temp file beside `path`, its mode and owner set (given, else the replaced file's,
/// else 0666 less umask), then renamed over `path`. The new file is not stat'ed: the
/// modules that edit a file in place never ask, and `copy` or `template` ask in a step
/// of their own (a round trip there costs less on the host than a `stat` here).
///
/// Each program a step runs is a fork and exec on the host, the larger part of a step's
/// cost there, so the common write (text content, a mode without execute bits) runs only
/// `mv` and `stat`: the controller names the temp file (created exclusively, `set -C`),
/// the shell's builtin `printf` fills it, and the umask gives it its mode as it is made.
pub fn write_file(
    r: &mut dyn ShellRunner,
    path: &str,
    content: Content<'_>,
    attrs: &FileAttrs,
    replaced: Replaced<'_>,
) -> ConnResult<()> {
    let p = quote(path)?;
    // The replaced file's mode, when the caller knows it, is as good as a given one.
    let mode_or_kept = attrs.mode.or(match replaced {
        Replaced::Existing(st) => Some(st.mode),
        _ => None,
    });
    let temp = quote(&format!(
        "{}/.srplay-tmp-{:016x}",
        parent_of(path),
        fastrand::u64(..)
    ))?;
    // A mode the umask can give a new file: no execute or special bits.
    let by_umask = mode_or_kept.filter(|m| m & 0o7111 == 0);
    let umask = by_umask
        .map(|m| format!("umask {:03o}\n", 0o777 & !m))
        .unwrap_or_default();
    let fill = match content {
        Content::Inline(data) => {
            let create = match inline_text(data) {
                Some(text) => format!("printf '%s' {} > \"$t\" || exit 1\n", quote(text)?),
                None => format!(
                    "base64 -d > \"$t\" <<'SRPLAY_DATA_END' || exit 1\n{}",
                    heredoc_base64(data)
                ),
            };
            format!("t={temp}\ntrap 'rm -f \"$t\"' EXIT\n{umask}set -C\n{create}set +C\n")
        }
        Content::Uploaded {
            path: up,
            beside: true,
        } => {
            format!("t={}\ntrap 'rm -f \"$t\"' EXIT\n", quote(up)?)
        }
        Content::Uploaded {
            path: up,
            beside: false,
        } => {
            let up = quote(up)?;
            format!(
                "t={temp}\ntrap 'rm -f \"$t\" {up}' EXIT\n{umask}set -C\n\
                 cat -- {up} > \"$t\" || exit 1\nset +C\n"
            )
        }
    };
    let created_here = !matches!(content, Content::Uploaded { beside: true, .. });
    let mode = match mode_or_kept {
        Some(_) if by_umask.is_some() && created_here => String::new(),
        Some(m) => format!("chmod {m:o} \"$t\" || exit 1\n"),
        // A file made here already has 0666 less umask; an upload is the SFTP server's.
        None if created_here && matches!(replaced, Replaced::Missing) => String::new(),
        None => {
            let keep = "if [ -e \"$d\" ]; then chmod \"$(stat -L -c %a -- \"$d\")\" \"$t\" || exit 1; \
                        chown \"$(stat -L -c %u:%g -- \"$d\")\" \"$t\" 2>/dev/null || true;";
            if created_here {
                format!("{keep} fi\n")
            } else {
                format!(
                    "{keep} else chmod \"$(printf %o $((0666 & ~0$(umask))))\" \"$t\" || exit 1; fi\n"
                )
            }
        }
    };
    // The replaced file's owner is kept too, as the stat above would (when it is not
    // the writer's own, the common case, which the shell's builtin tests tell).
    let kept_owner = match replaced {
        Replaced::Existing(st)
            if attrs.mode.is_none() && attrs.owner.is_none() && attrs.group.is_none() =>
        {
            format!(
                "[ -O \"$d\" ] && [ -G \"$d\" ] || chown {}:{} \"$t\" 2>/dev/null || true\n",
                st.uid, st.gid
            )
        }
        _ => String::new(),
    };
    let owner = owner_spec(attrs)?
        .map(|spec| format!("chown {spec} \"$t\" || exit 1\n"))
        .unwrap_or_default();
    let script = format!(
        "d={p}\n{fill}{mode}{kept_owner}{owner}mv -f -- \"$t\" \"$d\" || exit 1\ntrap - EXIT\n"
    );
    let script = match content {
        // The upload is gone once copied, whatever happened.
        Content::Uploaded {
            path: up,
            beside: false,
        } => {
            format!("{script}rm -f -- {}\n", quote(up)?)
        }
        _ => script,
    };
    run_ok(r, &script, &format!("cannot write {path}")).map(drop)
}

/// The probe behind [`Connection::access`](super::Connection::access): builtin tests,
/// and `readlink -f` only for a symlink.
pub fn access_script(path: &str) -> ConnResult<String> {
    let p = quote(path)?;
    Ok(format!(
        "test -r {p} && echo r; test -w {p} && echo w; test -x {p} && echo x; \
         if [ -L {p} ]; then echo \"=$(readlink -f -- {p})\"; fi; :"
    ))
}

pub fn parse_access(stdout: &[u8]) -> Access {
    let text = String::from_utf8_lossy(stdout);
    let has = |flag: &str| text.lines().any(|l| l == flag);
    Access {
        readable: has("r"),
        writeable: has("w"),
        executable: has("x"),
        resolved: text
            .lines()
            .find_map(|l| l.strip_prefix('='))
            .filter(|r| !r.is_empty())
            .map(str::to_string),
    }
}

pub fn access(r: &mut dyn ShellRunner, path: &str) -> ConnResult<Access> {
    let out = query_ok(r, &access_script(path)?, &format!("cannot probe {path}"))?;
    Ok(parse_access(&out.stdout))
}

/// Whether something is at `path`, following links: the shell's builtin `test`, so the
/// step runs no program.
pub fn exists(r: &mut dyn ShellRunner, path: &str) -> ConnResult<bool> {
    let script = format!(
        "if [ -e {} ]; then echo yes; else echo no; fi",
        quote(path)?
    );
    let out = query_ok(r, &script, &format!("cannot look for {path}"))?;
    Ok(out.stdout.starts_with(b"yes"))
}

/// Content the shell can carry as one quoted word to its builtin `printf`: text without
/// NUL (which no shell word can hold), small enough to keep the step's script small.
fn inline_text(data: &[u8]) -> Option<&str> {
    const LIMIT: usize = 64 * 1024;
    std::str::from_utf8(data)
        .ok()
        .filter(|t| t.len() <= LIMIT && !t.contains('\0'))
}

fn owner_spec(attrs: &FileAttrs) -> ConnResult<Option<String>> {
    Ok(match (&attrs.owner, &attrs.group) {
        (None, None) => None,
        (Some(o), None) => Some(quote(o)?),
        (None, Some(g)) => Some(quote(&format!(":{g}"))?),
        (Some(o), Some(g)) => Some(quote(&format!("{o}:{g}"))?),
    })
}

pub fn parent_of(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

pub fn mkdir_all(r: &mut dyn ShellRunner, path: &str, mode: Option<u32>) -> ConnResult<()> {
    // Each missing component is created with the mode (as Ansible's file module does),
    // whatever the umask says.
    let mut prefixes = Vec::new();
    let mut current = String::new();
    for (i, part) in path.split('/').enumerate() {
        if i > 0 {
            current.push('/');
        }
        current.push_str(part);
        if !part.is_empty() && part != "." {
            prefixes.push(quote(&current)?);
        }
    }
    let chmod = match mode {
        Some(m) => format!(" && chmod {m:o} \"$p\""),
        None => String::new(),
    };
    let script = format!(
        "for p in {}; do [ -d \"$p\" ] || {{ mkdir -- \"$p\"{chmod} || [ -d \"$p\" ]; }} || exit 1; done",
        prefixes.join(" ")
    );
    run_ok(r, &script, &format!("cannot create directory {path}")).map(drop)
}

pub fn remove(r: &mut dyn ShellRunner, path: &str, recursive: bool) -> ConnResult<()> {
    let p = quote(path)?;
    let script = if recursive {
        format!("rm -rf -- {p}")
    } else {
        format!("if [ -d {p} ] && [ ! -L {p} ]; then rmdir -- {p}; else rm -f -- {p}; fi")
    };
    run_ok(r, &script, &format!("cannot remove {path}")).map(drop)
}

/// A link made under a temp name and renamed over `link`, so replacing is atomic.
pub fn link(
    r: &mut dyn ShellRunner,
    target: &str,
    link: &str,
    force: bool,
    symbolic: bool,
) -> ConnResult<()> {
    let (t, l) = (quote(target)?, quote(link)?);
    let flag = if symbolic { "-s " } else { "" };
    let tmp = quote(&format!(
        "{}/.srplay-link-{}",
        parent_of(link),
        fastrand::u64(..)
    ))?;
    let script = if force {
        format!(
            "ln {flag}-- {t} {tmp} && {{ mv -fT -- {tmp} {l} || {{ rm -f -- {tmp}; exit 1; }}; }}"
        )
    } else {
        format!(
            "if [ -e {l} ] || [ -L {l} ]; then echo '{link} already exists' >&2; exit 1; fi; ln {flag}-- {t} {l}"
        )
    };
    run_ok(r, &script, &format!("cannot create link {link}")).map(drop)
}

/// Set owner, group and mode; the same step stats the path afterwards.
pub fn set_attrs(
    r: &mut dyn ShellRunner,
    path: &str,
    attrs: &FileAttrs,
    follow: bool,
) -> ConnResult<StatPair> {
    let p = quote(path)?;
    let mut script = String::new();
    if let Some(spec) = owner_spec(attrs)? {
        let h = if follow { "" } else { "-h " };
        script.push_str(&format!("chown {h}{spec} -- {p} || exit 1\n"));
    }
    if let Some(mode) = attrs.mode {
        // Linux has no mode on a symlink itself: without `follow` there is nothing to set.
        let guard = if follow {
            String::new()
        } else {
            format!("[ -L {p} ] || ")
        };
        script.push_str(&format!("{guard}chmod {mode:o} -- {p} || exit 1\n"));
    }
    script.push_str(&stat_pair_script(&p));
    let out = run_ok(r, &script, &format!("cannot set attributes of {path}"))?;
    parse_stat_pair(&out.stdout, path)
}

/// `chmod` alone, for a caller that knows what the path is.
pub fn chmod(r: &mut dyn ShellRunner, path: &str, mode: u32) -> ConnResult<()> {
    let script = format!("chmod {mode:o} -- {}", quote(path)?);
    run_ok(r, &script, &format!("cannot set attributes of {path}")).map(drop)
}

pub fn set_times(r: &mut dyn ShellRunner, path: &str, atime: f64, mtime: f64) -> ConnResult<()> {
    let p = quote(path)?;
    let script = format!("touch -h -a -d @{atime:.6} -- {p} && touch -h -m -d @{mtime:.6} -- {p}");
    run_ok(r, &script, &format!("cannot set times of {path}")).map(drop)
}

pub fn list_dir(r: &mut dyn ShellRunner, path: &str) -> ConnResult<Vec<String>> {
    // Shell globbing only (no `ls` parsing): NUL-separated, hidden names included.
    let script = format!(
        "cd -- {} || exit 1; for f in * .[!.]* ..?*; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then printf '%s\\0' \"$f\"; fi; done",
        quote(path)?
    );
    let out = run_ok(r, &script, &format!("cannot list {path}"))?;
    let mut names: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort();
    Ok(names)
}

pub fn home_dir(r: &mut dyn ShellRunner) -> ConnResult<String> {
    let out = run_ok(r, "printf '%s' \"$HOME\"", "cannot find the home directory")?;
    let home = String::from_utf8_lossy(&out.stdout).into_owned();
    if home.is_empty() {
        return Err(ConnError::new(
            "cannot find the home directory ($HOME is empty)",
        ));
    }
    Ok(home)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs scripts with the machine's `/bin/sh`; queries framed as the SSH shell runs
    /// them in place (`srplay_step </dev/null` in the shell itself).
    struct Sh;

    impl ShellRunner for Sh {
        fn run_script(&mut self, script: &str) -> ConnResult<ExecOutput> {
            sh(script, None)
        }

        fn run_query(&mut self, script: &str) -> ConnResult<ExecOutput> {
            query_in_place(script, None)
        }
    }

    /// [`Sh`] with a `PATH` where no program is found: every `stat` or `cat` fails.
    struct ShWithoutPrograms;

    impl ShellRunner for ShWithoutPrograms {
        fn run_script(&mut self, script: &str) -> ConnResult<ExecOutput> {
            sh(script, Some("/nonexistent"))
        }

        fn run_query(&mut self, script: &str) -> ConnResult<ExecOutput> {
            query_in_place(script, Some("/nonexistent"))
        }
    }

    fn sh(script: &str, path: Option<&str>) -> ConnResult<ExecOutput> {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
        let out = cmd.output().map_err(|e| ConnError::new(e.to_string()))?;
        Ok(ExecOutput {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    /// A query run in place, then a line that only a shell that is still there prints:
    /// a query must never end the shell, and its status is the step's.
    fn query_in_place(script: &str, path: Option<&str>) -> ConnResult<ExecOutput> {
        let framed = format!(
            "srplay_step() {{\n{script}\n}}\nsrplay_step </dev/null\nprintf '\\nALIVE %d\\n' \"$?\""
        );
        let mut out = sh(&framed, path)?;
        let tag = b"\nALIVE ";
        let at = out
            .stdout
            .windows(tag.len())
            .rposition(|w| w == tag)
            .unwrap_or_else(|| panic!("the query ended the shell: {script}"));
        let status = String::from_utf8_lossy(&out.stdout[at + tag.len()..]).into_owned();
        out.rc = status.trim().parse().unwrap();
        out.stdout.truncate(at);
        Ok(out)
    }

    #[test]
    fn a_failed_query_reports_its_status_and_leaves_the_shell() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f").to_string_lossy().into_owned();
        std::fs::write(&f, "x").unwrap();
        let link = dir.path().join("l").to_string_lossy().into_owned();
        std::os::unix::fs::symlink(&f, &link).unwrap();
        for path in [&f, &link] {
            let err = stat(&mut ShWithoutPrograms, path, true).unwrap_err();
            assert!(err.message.starts_with("cannot stat"), "{err}");
            let err = stat_and_read(&mut ShWithoutPrograms, path).unwrap_err();
            assert!(err.message.starts_with("cannot read"), "{err}");
        }
        assert!(read_file(&mut ShWithoutPrograms, &f).is_err());
        // Builtins alone: these still answer.
        assert!(exists(&mut ShWithoutPrograms, &f).unwrap());
        assert!(access(&mut ShWithoutPrograms, &f).unwrap().readable);
        // A missing path is an answer, not a failure.
        let none = format!("{f}.none");
        assert!(stat(&mut ShWithoutPrograms, &none, true).unwrap().is_none());
    }

    #[test]
    fn file_operations_through_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_string_lossy().into_owned();
        let f = format!("{base}/sub dir/it's a file");
        mkdir_all(&mut Sh, &format!("{base}/sub dir"), Some(0o750)).unwrap();
        let st = stat(&mut Sh, &format!("{base}/sub dir"), false)
            .unwrap()
            .unwrap();
        assert_eq!((st.kind, st.mode), (FileKind::Dir, 0o750));

        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        write_file(
            &mut Sh,
            &f,
            Content::Inline(&data),
            &FileAttrs {
                mode: Some(0o600),
                ..Default::default()
            },
            Replaced::Missing,
        )
        .unwrap();
        assert_eq!(read_file(&mut Sh, &f).unwrap(), data);
        assert!(exists(&mut Sh, &f).unwrap());
        assert!(!exists(&mut Sh, &format!("{f} not")).unwrap());
        let st = stat(&mut Sh, &f, false).unwrap().unwrap();
        assert_eq!((st.kind, st.mode, st.size), (FileKind::File, 0o600, 5000));
        // A rewrite keeps the mode of the file it replaces.
        write_file(
            &mut Sh,
            &f,
            Content::Inline(b"two"),
            &FileAttrs::default(),
            Replaced::Unknown,
        )
        .unwrap();
        assert_eq!(stat(&mut Sh, &f, false).unwrap().unwrap().mode, 0o600);
        // Text goes through printf, with the mode from the umask or from chmod.
        let text = "it's \"quoted\" $HOME `x` \\n%s\nno newline at the end";
        for mode in [0o640, 0o755, 0o4711] {
            let attrs = FileAttrs {
                mode: Some(mode),
                ..Default::default()
            };
            write_file(
                &mut Sh,
                &f,
                Content::Inline(text.as_bytes()),
                &attrs,
                Replaced::Unknown,
            )
            .unwrap();
            assert_eq!(stat(&mut Sh, &f, false).unwrap().unwrap().mode, mode);
            assert_eq!(read_file(&mut Sh, &f).unwrap(), text.as_bytes());
        }
        // A replaced file the caller has stat'ed keeps its mode and (as root) its owner.
        std::os::unix::fs::chown(&f, Some(65534), Some(65534)).ok();
        let before = stat(&mut Sh, &f, true).unwrap().unwrap();
        let known = Replaced::Existing(&before);
        write_file(
            &mut Sh,
            &f,
            Content::Inline(b"kept"),
            &FileAttrs::default(),
            known,
        )
        .unwrap();
        let st = stat(&mut Sh, &f, false).unwrap().unwrap();
        assert_eq!(
            (st.mode, st.uid, st.gid),
            (before.mode, before.uid, before.gid)
        );
        let left: Vec<_> = std::fs::read_dir(format!("{base}/sub dir"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["it's a file"], "a temp file was left behind");
        // An upload elsewhere is copied into place and removed.
        let up = format!("{base}/upload");
        std::fs::write(&up, b"uploaded").unwrap();
        let uploaded = Content::Uploaded {
            path: &up,
            beside: false,
        };
        write_file(
            &mut Sh,
            &f,
            uploaded,
            &FileAttrs::default(),
            Replaced::Unknown,
        )
        .unwrap();
        assert_eq!(read_file(&mut Sh, &f).unwrap(), b"uploaded");
        assert!(!std::path::Path::new(&up).exists());

        let l = format!("{base}/link");
        link(&mut Sh, &f, &l, false, true).unwrap();
        // stat and content in one step, through the link too; none for a directory.
        let (pair, content) = stat_and_read(&mut Sh, &l).unwrap();
        assert_eq!(pair.0.unwrap().kind, FileKind::Symlink);
        assert_eq!(pair.1.unwrap().kind, FileKind::File);
        assert_eq!(content.unwrap(), b"uploaded");
        let (pair, content) = stat_and_read(&mut Sh, &format!("{base}/sub dir")).unwrap();
        assert_eq!((pair.1.unwrap().kind, content), (FileKind::Dir, None));
        let (pair, content) = stat_and_read(&mut Sh, &format!("{base}/none")).unwrap();
        assert!(pair.0.is_none() && pair.1.is_none() && content.is_none());
        assert!(link(&mut Sh, &f, &l, false, true).is_err());
        link(&mut Sh, "/elsewhere", &l, true, true).unwrap();
        let st = stat(&mut Sh, &l, false).unwrap().unwrap();
        assert_eq!(st.kind, FileKind::Symlink);
        assert_eq!(st.link_target.as_deref(), Some("/elsewhere"));
        assert!(stat(&mut Sh, &l, true).unwrap().is_none());

        set_times(&mut Sh, &f, 1000.5, 2000.25).unwrap();
        let st = stat(&mut Sh, &f, false).unwrap().unwrap();
        assert_eq!((st.atime, st.mtime), (1000.5, 2000.25));
        set_attrs(
            &mut Sh,
            &f,
            &FileAttrs {
                mode: Some(0o640),
                ..Default::default()
            },
            true,
        )
        .unwrap();
        assert_eq!(stat(&mut Sh, &f, false).unwrap().unwrap().mode, 0o640);

        assert_eq!(list_dir(&mut Sh, &base).unwrap(), ["link", "sub dir"]);
        remove(&mut Sh, &format!("{base}/sub dir"), true).unwrap();
        assert!(stat(&mut Sh, &f, false).unwrap().is_none());
        let err = read_file(&mut Sh, &f).unwrap_err();
        assert!(err.message.contains("No such file"), "{err}");
        assert!(!home_dir(&mut Sh).unwrap().is_empty());
    }
}
