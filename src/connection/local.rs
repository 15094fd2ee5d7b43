//! The local connection: acts on this machine with std, `nix` and `/bin/sh`.
//!
//! Commands are spawned directly (argv) or through `executable -c`; become wraps them
//! in `sudo`/`su` with the password given on stdin. File operations are system calls,
//! never helper processes, except when the task becomes another user: then they are
//! the shell scripts of [`shell_ops`] run as that user.

use std::ffi::OsStr;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::stat::utimes;
use nix::sys::time::TimeVal;
use nix::unistd::{Gid, Group, Pid, Uid, User};

use super::shell_ops::{self, ShellRunner};
use super::{
    Become, Command, ConnError, ConnResult, Connection, ExecOutput, ExecRequest, FileAttrs,
    FileKind, FileStat, TaskSettings,
};

/// Runs modules' steps on the controller itself (`ansible_connection=local`).
#[derive(Default)]
pub struct LocalConnection {
    task: TaskSettings,
}

impl LocalConnection {
    /// The task acts as another user: file operations go through that user's shell
    /// (as over SSH) instead of this process's system calls.
    fn becomes(&self) -> bool {
        self.task
            .become_
            .as_ref()
            .is_some_and(|b| !is_current_user(&b.user))
    }
}

impl ShellRunner for LocalConnection {
    fn run_script(&mut self, script: &str) -> ConnResult<ExecOutput> {
        self.exec(&ExecRequest::shell(script))
    }
}

impl Connection for LocalConnection {
    fn set_task_settings(&mut self, settings: TaskSettings) {
        self.task = settings;
    }

    fn exec(&mut self, req: &ExecRequest) -> ConnResult<ExecOutput> {
        let argv = command_argv(&req.command);
        let (argv, password) = match req.become_.as_ref().or(self.task.become_.as_ref()) {
            Some(become_) if !is_current_user(&become_.user) => wrap_become(become_, argv)?,
            _ => (argv, None),
        };
        let Some((program, rest)) = argv.split_first() else {
            return Err(ConnError::new("empty command"));
        };
        let mut cmd = std::process::Command::new(program);
        cmd.args(rest)
            .envs(self.task.env.iter().map(|(k, v)| (k, v)))
            .envs(req.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if req.timeout.or(self.task.timeout).is_some() {
            // Its own process group, so that a timeout kills the whole pipeline. (Only
            // then: otherwise the command stays in the terminal's group and gets its ^C.)
            cmd.process_group(0);
        }
        if let Some(dir) = &req.chdir {
            cmd.current_dir(dir);
        }
        let child = match cmd.spawn() {
            Ok(child) => child,
            // As a shell reports it, so that local and remote runs agree.
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => {
                let rc = if e.kind() == ErrorKind::NotFound {
                    127
                } else {
                    126
                };
                let place = req.chdir.as_deref().filter(|d| !Path::new(d).is_dir());
                let stderr = match place {
                    Some(dir) => format!("cannot change directory to {dir}: {e}"),
                    None => format!("{program}: {e}"),
                };
                return Ok(ExecOutput {
                    rc,
                    stdout: Vec::new(),
                    stderr: stderr.into_bytes(),
                });
            }
            Err(e) => return Err(ConnError::new(format!("cannot run {program}: {e}"))),
        };
        let mut input = Vec::new();
        if let Some(password) = password {
            input.extend_from_slice(password.as_bytes());
            input.push(b'\n');
        }
        if let Some(stdin) = &req.stdin {
            input.extend_from_slice(stdin);
        }
        run_child(child, input, req.timeout.or(self.task.timeout))
    }

    fn stat(&mut self, path: &str, follow: bool) -> ConnResult<Option<FileStat>> {
        if self.becomes() {
            return shell_ops::stat(self, path, follow);
        }
        let p = Path::new(path);
        let meta = if follow {
            fs::metadata(p)
        } else {
            fs::symlink_metadata(p)
        };
        let meta = match meta {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ConnError::io("cannot stat", p, &e)),
        };
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            FileKind::Symlink
        } else if file_type.is_dir() {
            FileKind::Dir
        } else if file_type.is_file() {
            FileKind::File
        } else if file_type.is_fifo() {
            FileKind::Fifo
        } else if file_type.is_socket() {
            FileKind::Socket
        } else if file_type.is_block_device() {
            FileKind::BlockDevice
        } else if file_type.is_char_device() {
            FileKind::CharDevice
        } else {
            FileKind::Other
        };
        let link_target = if kind == FileKind::Symlink {
            let target = fs::read_link(p).map_err(|e| ConnError::io("cannot read link", p, &e))?;
            Some(target.to_string_lossy().into_owned())
        } else {
            None
        };
        Ok(Some(FileStat {
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            owner: user_name(meta.uid()),
            group: group_name(meta.gid()),
            size: meta.size(),
            mtime: seconds(meta.mtime(), meta.mtime_nsec()),
            atime: seconds(meta.atime(), meta.atime_nsec()),
            ctime: seconds(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
            dev: meta.dev(),
            nlink: meta.nlink(),
            link_target,
        }))
    }

    fn read_file(&mut self, path: &str) -> ConnResult<Vec<u8>> {
        if self.becomes() {
            return shell_ops::read_file(self, path);
        }
        fs::read(path).map_err(|e| ConnError::io("cannot read", Path::new(path), &e))
    }

    fn write_file(&mut self, path: &str, data: &[u8], attrs: &FileAttrs) -> ConnResult<()> {
        if self.becomes() {
            return shell_ops::write_file(
                self,
                path,
                shell_ops::Content::Inline(data),
                attrs,
                shell_ops::Replaced::Unknown,
            );
        }
        let dest = Path::new(path);
        let dir = parent_dir(dest);
        let io = |what: &str, e: &std::io::Error| ConnError::io(what, dest, e);
        let mut tmp = tempfile::Builder::new()
            .prefix(".srplay-tmp-")
            .tempfile_in(dir)
            .map_err(|e| io("cannot create a temporary file beside", &e))?;
        tmp.write_all(data).map_err(|e| io("cannot write", &e))?;

        let replaced = fs::metadata(dest).ok();
        let mode = attrs
            .mode
            .or(replaced.as_ref().map(|m| m.mode() & 0o7777))
            .unwrap_or(0o666 & !process_umask());
        let file = tmp.as_file();
        let own = file.metadata().map_err(|e| io("cannot stat", &e))?;
        // Ownership asked for must be set; that of the replaced file is kept when the
        // user may (as Ansible's atomic_move, which ignores EPERM there).
        let uid = attrs.owner.as_deref().map(resolve_uid).transpose()?;
        let gid = attrs.group.as_deref().map(resolve_gid).transpose()?;
        let (uid, gid) = (
            uid.filter(|u| *u != own.uid()),
            gid.filter(|g| *g != own.gid()),
        );
        if uid.is_some() || gid.is_some() {
            std::os::unix::fs::fchown(file, uid, gid).map_err(|e| io("cannot chown", &e))?;
        }
        if let Some(old) = &replaced {
            let keep_uid = Some(old.uid()).filter(|u| attrs.owner.is_none() && *u != own.uid());
            let keep_gid = Some(old.gid()).filter(|g| attrs.group.is_none() && *g != own.gid());
            if keep_uid.is_some() || keep_gid.is_some() {
                match std::os::unix::fs::fchown(file, keep_uid, keep_gid) {
                    Err(e) if e.kind() != ErrorKind::PermissionDenied => {
                        return Err(io("cannot chown", &e));
                    }
                    _ => {}
                }
            }
        }
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| io("cannot chmod", &e))?;
        file.sync_all().map_err(|e| io("cannot sync", &e))?;
        tmp.persist(dest)
            .map_err(|e| io("cannot rename over", &e.error))?;
        if let Ok(d) = fs::File::open(dir) {
            // Make the rename itself durable; some filesystems refuse to sync a directory.
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn mkdir_all(&mut self, path: &str, mode: Option<u32>) -> ConnResult<()> {
        if self.becomes() {
            return shell_ops::mkdir_all(self, path, mode);
        }
        let target = Path::new(path);
        let mut current = PathBuf::new();
        for component in target.components() {
            current.push(component);
            if current.is_dir() {
                continue;
            }
            let mut builder = fs::DirBuilder::new();
            builder.mode(mode.unwrap_or(0o777));
            match builder.create(&current) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists && current.is_dir() => continue,
                Err(e) => return Err(ConnError::io("cannot create directory", &current, &e)),
            }
            if let Some(mode) = mode {
                // An explicit mode is the mode, whatever the umask says.
                fs::set_permissions(&current, fs::Permissions::from_mode(mode))
                    .map_err(|e| ConnError::io("cannot chmod", &current, &e))?;
            }
        }
        Ok(())
    }

    fn remove(&mut self, path: &str, recursive: bool) -> ConnResult<()> {
        if self.becomes() {
            return shell_ops::remove(self, path, recursive);
        }
        let p = Path::new(path);
        let result = match fs::symlink_metadata(p) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => Err(e),
            Ok(meta) if meta.is_dir() && recursive => fs::remove_dir_all(p),
            Ok(meta) if meta.is_dir() => fs::remove_dir(p),
            Ok(_) => fs::remove_file(p),
        };
        result.map_err(|e| ConnError::io("cannot remove", p, &e))
    }

    fn symlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()> {
        if self.becomes() {
            return shell_ops::link(self, target, link, force, true);
        }
        replace_with(link, force, |tmp| std::os::unix::fs::symlink(target, tmp))
    }

    fn hardlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()> {
        if self.becomes() {
            return shell_ops::link(self, target, link, force, false);
        }
        replace_with(link, force, |tmp| fs::hard_link(target, tmp))
    }

    fn set_attrs(&mut self, path: &str, attrs: &FileAttrs, follow: bool) -> ConnResult<()> {
        if self.becomes() {
            return shell_ops::set_attrs(self, path, attrs, follow).map(drop);
        }
        let p = Path::new(path);
        let uid = attrs.owner.as_deref().map(resolve_uid).transpose()?;
        let gid = attrs.group.as_deref().map(resolve_gid).transpose()?;
        if uid.is_some() || gid.is_some() {
            let result = if follow {
                std::os::unix::fs::chown(p, uid, gid)
            } else {
                std::os::unix::fs::lchown(p, uid, gid)
            };
            result.map_err(|e| ConnError::io("cannot chown", p, &e))?;
        }
        if let Some(mode) = attrs.mode {
            let is_link = fs::symlink_metadata(p)
                .map_err(|e| ConnError::io("cannot stat", p, &e))?
                .is_symlink();
            // Linux has no mode on a symlink itself: without `follow` there is nothing to set.
            if follow || !is_link {
                fs::set_permissions(p, fs::Permissions::from_mode(mode))
                    .map_err(|e| ConnError::io("cannot chmod", p, &e))?;
            }
        }
        Ok(())
    }

    fn set_times(&mut self, path: &str, atime: f64, mtime: f64) -> ConnResult<()> {
        if self.becomes() {
            return shell_ops::set_times(self, path, atime, mtime);
        }
        utimes(path, &timeval(atime), &timeval(mtime))
            .map_err(|e| ConnError::new(format!("cannot set times of {path}: {e}")))
    }

    fn list_dir(&mut self, path: &str) -> ConnResult<Vec<String>> {
        if self.becomes() {
            return shell_ops::list_dir(self, path);
        }
        let p = Path::new(path);
        let entries = fs::read_dir(p).map_err(|e| ConnError::io("cannot list", p, &e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| ConnError::io("cannot list", p, &e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn home_dir(&mut self) -> ConnResult<String> {
        if self.becomes() {
            return shell_ops::home_dir(self);
        }
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            return Ok(home.to_string_lossy().into_owned());
        }
        match User::from_uid(Uid::effective()) {
            Ok(Some(user)) => Ok(user.dir.to_string_lossy().into_owned()),
            _ => Err(ConnError::new("cannot find the home directory")),
        }
    }
}

fn command_argv(command: &Command) -> Vec<String> {
    match command {
        Command::Argv(argv) => argv.clone(),
        Command::Shell { cmd, executable } => vec![
            executable.clone().unwrap_or_else(|| "/bin/sh".to_string()),
            "-c".to_string(),
            cmd.clone(),
        ],
    }
}

/// The become program's argv around `argv`, and the password to send on stdin first.
fn wrap_become(become_: &Become, argv: Vec<String>) -> ConnResult<(Vec<String>, Option<String>)> {
    let flags = match &become_.flags {
        Some(flags) => shlex::split(flags)
            .ok_or_else(|| ConnError::new(format!("cannot parse become_flags: {flags}")))?,
        None => Vec::new(),
    };
    let password = become_.password.clone();
    let mut out: Vec<String> = match become_.method.as_str() {
        "sudo" | "" => {
            let mut out = vec!["sudo".to_string()];
            if flags.is_empty() {
                out.push("-H".to_string());
            }
            out.extend(flags);
            out.push("-S".to_string());
            if password.is_some() {
                // Sudo's prompt goes to stderr; keep it empty so it never pollutes output.
                out.extend(["-p".to_string(), String::new()]);
            } else {
                out.push("-n".to_string());
            }
            out.extend(["-u".to_string(), become_.user.clone()]);
            out.extend(argv);
            return Ok((out, password));
        }
        "su" => vec!["su".to_string()],
        other => {
            return Err(ConnError::new(format!(
                "become method '{other}' is not supported by the local connection"
            )));
        }
    };
    out.extend(flags);
    let line = shlex::try_join(argv.iter().map(String::as_str))
        .map_err(|e| ConnError::new(format!("cannot quote the command for su: {e}")))?;
    out.extend([become_.user.clone(), "-c".to_string(), line]);
    Ok((out, password))
}

fn is_current_user(name: &str) -> bool {
    let uid = Uid::effective();
    name.is_empty() || user_name(uid.as_raw()) == name || name == uid.as_raw().to_string()
}

/// Feed stdin, collect stdout and stderr on their own threads (so that no pipe fills
/// and blocks the child), and wait, killing the process group when `timeout` passes.
fn run_child(
    mut child: Child,
    input: Vec<u8>,
    timeout: Option<Duration>,
) -> ConnResult<ExecOutput> {
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            // The child may exit without reading its input: a broken pipe is not an error.
            let _ = stdin.write_all(&input);
        }
    });
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let wait_error =
        |e: std::io::Error| ConnError::new(format!("cannot wait for the command: {e}"));
    let status = match timeout {
        None => child.wait().map_err(wait_error)?,
        Some(limit) => {
            let started = Instant::now();
            let mut pause = Duration::from_millis(1);
            loop {
                if let Some(status) = child.try_wait().map_err(wait_error)? {
                    break status;
                }
                if started.elapsed() >= limit {
                    let pgid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
                    let _ = killpg(pgid, Signal::SIGKILL);
                    let _ = child.wait();
                    return Err(ConnError::new(format!(
                        "the command did not finish within {} seconds and was killed",
                        limit.as_secs_f64()
                    )));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    };
    let _ = feeder.join();
    let rc = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        -status.signal().unwrap_or(0)
    });
    Ok(ExecOutput {
        rc,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

fn collect(handle: JoinHandle<Vec<u8>>) -> Vec<u8> {
    handle.join().unwrap_or_default()
}

/// Create a link under a temporary name beside `link`, then rename it over `link`:
/// replacing an existing path (with `force`) is atomic.
fn replace_with(
    link: &str,
    force: bool,
    make: impl Fn(&Path) -> std::io::Result<()>,
) -> ConnResult<()> {
    let dest = Path::new(link);
    let exists = fs::symlink_metadata(dest).is_ok();
    if exists && !force {
        return Err(ConnError::new(format!("{link} already exists")));
    }
    if !exists {
        return make(dest).map_err(|e| ConnError::io("cannot create link", dest, &e));
    }
    let name = dest.file_name().unwrap_or(OsStr::new("link"));
    let tmp = parent_dir(dest).join(format!(
        ".{}.srplay-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    make(&tmp).map_err(|e| ConnError::io("cannot create link", dest, &e))?;
    fs::rename(&tmp, dest).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ConnError::io("cannot replace", dest, &e)
    })
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The process umask, read without changing it (`umask(2)` can only be read by
/// setting it, which would race with other threads creating files).
fn process_umask() -> u32 {
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    })
}

fn seconds(secs: i64, nanos: i64) -> f64 {
    secs as f64 + nanos as f64 / 1e9
}

fn timeval(t: f64) -> TimeVal {
    let secs = t.floor();
    TimeVal::new(secs as i64, ((t - secs) * 1e6) as i64)
}

fn user_name(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

fn group_name(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(group)) => group.name,
        _ => gid.to_string(),
    }
}

/// A user name or numeric id to a uid.
fn resolve_uid(owner: &str) -> ConnResult<u32> {
    if let Ok(uid) = owner.parse::<u32>() {
        return Ok(uid);
    }
    match User::from_name(owner) {
        Ok(Some(user)) => Ok(user.uid.as_raw()),
        _ => Err(ConnError::new(format!(
            "chown failed: failed to look up user {owner}"
        ))),
    }
}

/// A group name or numeric id to a gid.
fn resolve_gid(group: &str) -> ConnResult<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    match Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(ConnError::new(format!(
            "chgrp failed: failed to look up group {group}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> LocalConnection {
        LocalConnection::default()
    }

    fn path_in(dir: &tempfile::TempDir, name: &str) -> String {
        dir.path().join(name).to_string_lossy().into_owned()
    }

    #[test]
    fn exec_argv_shell_stdin_env_chdir() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = ExecRequest::shell("cat; echo \"$X\"; pwd; echo err >&2; exit 3");
        req.stdin = Some(b"in\n".to_vec());
        req.env = vec![("X".into(), "ex".into())];
        req.chdir = Some(dir.path().to_string_lossy().into_owned());
        let out = conn().exec(&req).unwrap();
        let expected = format!("in\nex\n{}\n", dir.path().canonicalize().unwrap().display());
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.rc, 3);

        let out = conn()
            .exec(&ExecRequest::argv(vec!["echo".into(), "a b".into()]))
            .unwrap();
        assert_eq!(out.stdout, b"a b\n");
    }

    #[test]
    fn exec_missing_program_is_rc_127() {
        let out = conn()
            .exec(&ExecRequest::argv(vec!["/nonexistent/prog".into()]))
            .unwrap();
        assert_eq!(out.rc, 127);
    }

    #[test]
    fn exec_timeout_kills_the_pipeline() {
        let mut req = ExecRequest::shell("sleep 5 | cat");
        req.timeout = Some(Duration::from_millis(200));
        let started = Instant::now();
        let err = conn().exec(&req).unwrap_err();
        assert!(err.message.contains("did not finish"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn become_the_current_user_runs_directly() {
        let me = user_name(Uid::effective().as_raw());
        let mut req = ExecRequest::shell("echo ok");
        req.become_ = Some(Become {
            method: "sudo".into(),
            user: me,
            ..Become::default()
        });
        assert_eq!(conn().exec(&req).unwrap().stdout, b"ok\n");
    }

    #[test]
    fn become_password_goes_to_stdin_not_argv() {
        let become_ = Become {
            method: "sudo".into(),
            user: "nobody".into(),
            flags: None,
            password: Some("secret".into()),
        };
        let (argv, password) = wrap_become(&become_, vec!["id".into()]).unwrap();
        assert!(!argv.iter().any(|a| a.contains("secret")), "{argv:?}");
        assert_eq!(password.as_deref(), Some("secret"));
        assert_eq!(argv[..3], ["sudo", "-H", "-S"]);
        let su = Become {
            method: "su".into(),
            ..become_
        };
        let (argv, _) = wrap_become(&su, vec!["echo".into(), "a b".into()]).unwrap();
        assert_eq!(argv, ["su", "nobody", "-c", "echo 'a b'"]);
    }

    #[test]
    fn file_operations_run_as_the_become_user() {
        // Root can become `nobody` without a password; others cannot test this here.
        if !Uid::effective().is_root() || User::from_name("nobody").ok().flatten().is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let p = path_in(&dir, "by-nobody");
        let mut c = conn();
        c.set_task_settings(TaskSettings {
            become_: Some(Become {
                method: "sudo".into(),
                user: "nobody".into(),
                ..Become::default()
            }),
            ..TaskSettings::default()
        });
        c.write_file(&p, b"x", &FileAttrs::default()).unwrap();
        assert_eq!(c.stat(&p, false).unwrap().unwrap().owner, "nobody");
        assert_eq!(
            fs::metadata(&p).unwrap().uid(),
            User::from_name("nobody").unwrap().unwrap().uid.as_raw()
        );
    }

    #[test]
    fn write_file_keeps_the_replaced_mode_and_sets_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_in(&dir, "f");
        let mut c = conn();
        c.write_file(&p, b"one", &FileAttrs::default()).unwrap();
        let st = c.stat(&p, false).unwrap().unwrap();
        assert_eq!(st.mode, 0o666 & !process_umask());
        c.set_attrs(
            &p,
            &FileAttrs {
                mode: Some(0o600),
                ..FileAttrs::default()
            },
            true,
        )
        .unwrap();
        c.write_file(&p, b"two", &FileAttrs::default()).unwrap();
        let st = c.stat(&p, false).unwrap().unwrap();
        assert_eq!((st.mode, st.size), (0o600, 3));
        assert_eq!(c.read_file(&p).unwrap(), b"two");
        let attrs = FileAttrs {
            mode: Some(0o640),
            owner: Some(st.uid.to_string()),
            group: Some(st.group.clone()),
        };
        c.write_file(&p, b"three", &attrs).unwrap();
        assert_eq!(c.stat(&p, false).unwrap().unwrap().mode, 0o640);
        assert_eq!(c.list_dir(&dir.path().to_string_lossy()).unwrap(), ["f"]);
    }

    #[test]
    fn stat_links_dirs_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = conn();
        let d = path_in(&dir, "a/b/c");
        c.mkdir_all(&d, Some(0o700)).unwrap();
        assert_eq!(c.stat(&d, false).unwrap().unwrap().mode, 0o700);
        let l = path_in(&dir, "l");
        c.symlink(&d, &l, false).unwrap();
        let st = c.stat(&l, false).unwrap().unwrap();
        assert_eq!(st.kind, FileKind::Symlink);
        assert_eq!(st.link_target.as_deref(), Some(d.as_str()));
        assert_eq!(c.stat(&l, true).unwrap().unwrap().kind, FileKind::Dir);
        assert!(c.symlink(&d, &l, false).is_err());
        c.symlink("/elsewhere", &l, true).unwrap();
        assert_eq!(
            c.stat(&l, false).unwrap().unwrap().link_target.as_deref(),
            Some("/elsewhere")
        );
        assert!(c.stat(&l, true).unwrap().is_none());
        c.set_times(&d, 1000.5, 2000.25).unwrap();
        let st = c.stat(&d, false).unwrap().unwrap();
        assert_eq!((st.atime, st.mtime), (1000.5, 2000.25));
        c.remove(&path_in(&dir, "a"), true).unwrap();
        assert!(c.stat(&d, false).unwrap().is_none());
        c.remove(&d, false).unwrap();
    }
}
