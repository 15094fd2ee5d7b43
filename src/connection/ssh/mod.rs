//! The SSH connection: one session per host, opened on first use and kept for the
//! whole run, with one long-lived shell per user the tasks act as (the login user,
//! and each become user). Commands and file operations are steps on those shells
//! ([`shell`]); file operations are the scripts of [`shell_ops`](super::shell_ops).
//!
//! A dropped session is reopened once, when the failure happened before the step was
//! sent; a step cut off in flight is reported (the host is unreachable), never re-run,
//! since it may have acted.

pub mod known_hosts;
mod session;
mod shell;
pub mod target;

use std::collections::HashMap;
use std::time::Duration;

use super::shell_ops::{self, Content, Replaced, ShellRunner};
use super::{
    Access, Become, ConnError, ConnResult, Connection, ExecOutput, ExecRequest, FileAttrs,
    FileKind, FileStat, PathGuard, TaskSettings,
};
use session::Live;
use shell::{Framing, Shell};
pub use target::{ConnVars, SshDefaults, SshTarget};

/// Content up to this size travels inside the write step itself (one round trip);
/// larger content goes by SFTP first.
const INLINE_LIMIT: usize = 256 * 1024;

pub struct SshConnection {
    target: SshTarget,
    live: Option<Live>,
    /// Shells by the user they run as (`None`: the login user).
    shells: HashMap<Option<BecomeKey>, Shell>,
    task: TaskSettings,
    /// The transport failure of the current task, if any.
    lost: Option<String>,
    /// What the host said within the current task (see [`TaskCache`]).
    cache: TaskCache,
}

/// What `stat` and `read_file` said within the current task, forgotten at any step that
/// may change the host (every operation but `stat`, `read_file`, `list_dir`,
/// `home_dir`), except what that step itself reports: a module often stats or reads the
/// same path several times (to decide, to apply attributes, to report, to diff), and
/// each would be a round trip.
#[derive(Default)]
struct TaskCache {
    /// By path: the stat without and with following a link.
    stats: HashMap<String, shell_ops::StatPair>,
    reads: HashMap<String, Vec<u8>>,
}

impl TaskCache {
    fn clear(&mut self) {
        self.stats.clear();
        self.reads.clear();
    }

    /// Forget everything, then keep what a changing step reported of its path.
    fn changed(&mut self, path: &str, now: shell_ops::StatPair) {
        self.clear();
        self.stats.insert(path.to_string(), now);
    }
}

/// What makes two become shells different.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct BecomeKey {
    method: String,
    user: String,
    flags: Option<String>,
}

impl SshConnection {
    /// A connection that opens its session on first use.
    pub fn new(target: SshTarget) -> SshConnection {
        SshConnection {
            target,
            live: None,
            shells: HashMap::new(),
            task: TaskSettings::default(),
            lost: None,
            cache: TaskCache::default(),
        }
    }

    /// Open the session now (to report an unreachable host before any task needs it).
    pub fn connect(&mut self) -> ConnResult<()> {
        self.live().map(drop)
    }

    fn live(&mut self) -> ConnResult<&Live> {
        if self.live.is_none() {
            self.live = Some(Live::open(&self.target)?);
        }
        Ok(self.live.as_ref().expect("opened above"))
    }

    /// Forget the session and its shells (after a transport failure).
    fn reset(&mut self) {
        for (_, shell) in self.shells.drain() {
            shell.close();
        }
        self.live = None;
    }

    /// The become that applies to a step, unless it would not change the user.
    fn effective_become<'a>(&self, req: Option<&'a Become>) -> Option<&'a Become> {
        req.filter(|b| b.user != self.target.user)
    }

    /// Run a script as the step's user: the shell for that user, opened (and the
    /// session reopened, once) when needed.
    fn step(
        &mut self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        timeout: Option<Duration>,
        framing: Framing,
    ) -> ConnResult<ExecOutput> {
        let result = self.step_once(script, stdin, become_, timeout, framing);
        if let Err(e) = &result
            && e.unreachable
        {
            self.lost = Some(e.message.clone());
        }
        result
    }

    fn step_once(
        &mut self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        timeout: Option<Duration>,
        framing: Framing,
    ) -> ConnResult<ExecOutput> {
        let become_ = self.effective_become(become_).cloned();
        let key = become_.as_ref().map(|b| BecomeKey {
            method: b.method.clone(),
            user: b.user.clone(),
            flags: b.flags.clone(),
        });
        if !self.shells.contains_key(&key) {
            let shell = match self.open_shell(become_.as_ref()) {
                Err(e) if e.unreachable && self.live.is_some() => {
                    // The kept session was dropped (sshd restarted, network blip):
                    // nothing was sent yet, so reconnect once and try again.
                    self.reset();
                    self.open_shell(become_.as_ref())?
                }
                other => other?,
            };
            self.shells.insert(key.clone(), shell);
        }
        let live = self.live.as_ref().expect("a shell implies a session");
        let shell = self.shells.get_mut(&key).expect("inserted above");
        match shell.run(live, script, stdin, timeout, framing) {
            Ok(out) => Ok(out),
            Err(e) => {
                if let Some(shell) = self.shells.remove(&key) {
                    shell.close();
                }
                if e.unreachable {
                    self.reset();
                }
                Err(e)
            }
        }
    }

    /// Write `data` to a new file `remote` (mode 0600, refused if it exists) by SFTP.
    fn upload(&mut self, remote: &str, data: &[u8]) -> ConnResult<()> {
        let result = self.upload_once(remote, data);
        if let Err(e) = &result
            && e.unreachable
        {
            self.lost = Some(e.message.clone());
            self.reset();
        }
        result
    }

    fn upload_once(&mut self, remote: &str, data: &[u8]) -> ConnResult<()> {
        use ssh2::{OpenFlags, OpenType};
        let live = self.live()?;
        let sftp_error = |e: ssh2::Error| match e.code() {
            ssh2::ErrorCode::SFTP(_) => {
                ConnError::new(format!("cannot upload to {remote}: {}", e.message()))
            }
            _ => session::session_error(&e),
        };
        let sftp = live.retry_with(None, || live.session.sftp(), sftp_error)?;
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
        let mut file = live.retry_with(
            None,
            || sftp.open_mode(std::path::Path::new(remote), flags, 0o600, OpenType::File),
            sftp_error,
        )?;
        let mut written = 0;
        while written < data.len() {
            match std::io::Write::write(&mut file, &data[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => live.wait(None)?,
                Err(e) => {
                    return Err(ConnError::new(format!("cannot upload to {remote}: {e}")));
                }
            }
        }
        live.retry_with(None, || file.close(), sftp_error)?;
        Ok(())
    }

    /// The write itself: inline in the step, or by SFTP first for large content.
    fn write_file_step(
        &mut self,
        path: &str,
        data: &[u8],
        attrs: &FileAttrs,
        known: Option<Option<FileStat>>,
    ) -> ConnResult<()> {
        let replaced = match &known {
            None => Replaced::Unknown,
            Some(None) => Replaced::Missing,
            Some(Some(st)) => Replaced::Existing(st),
        };
        if data.len() <= INLINE_LIMIT {
            return shell_ops::write_file(self, path, Content::Inline(data), attrs, replaced);
        }
        // Large content goes by SFTP (as the login user): straight beside the
        // destination when the task acts as the login user, else to a private temp
        // file that the become shell copies into place (root can read it).
        let become_ = self.effective_become(self.task.become_.as_ref()).cloned();
        let beside = become_.is_none();
        if !beside && become_.is_some_and(|b| b.user != "root") {
            return shell_ops::write_file(self, path, Content::Inline(data), attrs, replaced);
        }
        let name = format!(".srplay-tmp-{:016x}", fastrand::u64(..));
        let upload = if beside {
            format!("{}/{name}", shell_ops::parent_of(path))
        } else {
            format!("/tmp/{name}")
        };
        self.upload(&upload, data)?;
        let content = Content::Uploaded {
            path: &upload,
            beside,
        };
        shell_ops::write_file(self, path, content, attrs, replaced)
    }

    /// Run `req` in one step, after the lines of `script`.
    fn exec_after(&mut self, mut script: String, req: &ExecRequest) -> ConnResult<ExecOutput> {
        self.cache.clear();
        script.push_str(&shell_ops::command_script(&self.task.env, req)?);
        let become_ = req.become_.clone().or_else(|| self.task.become_.clone());
        let timeout = req.timeout.or(self.task.timeout);
        self.step(
            &script,
            req.stdin.as_deref(),
            become_.as_ref(),
            timeout,
            Framing::Subshell,
        )
    }

    fn open_shell(&mut self, become_: Option<&Become>) -> ConnResult<Shell> {
        let timeout = self.target.connect_timeout.max(Duration::from_secs(10));
        let live = self.live()?;
        Shell::open(live, become_, timeout)
    }
}

impl ShellRunner for SshConnection {
    fn run_script(&mut self, script: &str) -> ConnResult<ExecOutput> {
        let become_ = self.task.become_.clone();
        self.step(script, None, become_.as_ref(), None, Framing::Subshell)
    }

    fn run_query(&mut self, script: &str) -> ConnResult<ExecOutput> {
        let become_ = self.task.become_.clone();
        self.step(script, None, become_.as_ref(), None, Framing::InPlace)
    }
}

impl Connection for SshConnection {
    fn set_task_settings(&mut self, settings: TaskSettings) {
        self.task = settings;
        self.lost = None;
        self.cache.clear();
    }

    fn unreachable(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    fn exec(&mut self, req: &ExecRequest) -> ConnResult<ExecOutput> {
        self.exec_after(String::new(), req)
    }

    /// The guards are tests in the command's own step (`[ -e ]` follows links, as the
    /// default's `stat` does): one round trip and no extra process.
    fn exec_guarded(
        &mut self,
        req: &ExecRequest,
        guards: &[PathGuard],
    ) -> ConnResult<Result<ExecOutput, usize>> {
        let token = format!("SRPLAY_GUARD_{:016x}", fastrand::u64(..));
        let mut script = String::new();
        for (i, guard) in guards.iter().enumerate() {
            let stop = format!("printf '%s' '{token} {i}'; exit 0");
            let p = shell_ops::quote(&guard.path)?;
            script.push_str(&if guard.must_exist {
                format!("[ -e {p} ] || {{ {stop}; }}\n")
            } else {
                format!("[ -e {p} ] && {{ {stop}; }}\n")
            });
        }
        let out = self.exec_after(script, req)?;
        let stopped = (out.rc == 0)
            .then(|| std::str::from_utf8(&out.stdout).ok())
            .flatten()
            .and_then(|s| s.strip_prefix(&token)?.trim().parse().ok());
        Ok(match stopped {
            Some(i) if i < guards.len() => Err(i),
            _ => Ok(out),
        })
    }

    fn stat(&mut self, path: &str, follow: bool) -> ConnResult<Option<FileStat>> {
        let pair = match self.cache.stats.get(path) {
            Some(known) => known.clone(),
            None => {
                let pair = shell_ops::stat_pair(self, path)?;
                self.cache.stats.insert(path.to_string(), pair.clone());
                pair
            }
        };
        Ok(if follow { pair.1 } else { pair.0 })
    }

    fn stat_and_read(&mut self, path: &str) -> ConnResult<Option<(FileStat, Option<Vec<u8>>)>> {
        // Known within this task: missing, not a file, or a file already read.
        if let Some((_, followed)) = self.cache.stats.get(path) {
            match followed {
                None => return Ok(None),
                Some(st) if st.kind != FileKind::File => return Ok(Some((st.clone(), None))),
                // A file this task stat'ed but did not read: `cat` alone.
                Some(st) => {
                    let st = st.clone();
                    let data = self.read_file(path)?;
                    return Ok(Some((st, Some(data))));
                }
            }
        }
        let (pair, content) = shell_ops::stat_and_read(self, path)?;
        self.cache.stats.insert(path.to_string(), pair.clone());
        if let Some(data) = &content {
            self.cache.reads.insert(path.to_string(), data.clone());
        }
        Ok(pair.1.map(|st| (st, content)))
    }

    fn access(&mut self, path: &str) -> ConnResult<Access> {
        shell_ops::access(self, path)
    }

    fn exists(&mut self, path: &str) -> ConnResult<bool> {
        match self.cache.stats.get(path) {
            Some((_, followed)) => Ok(followed.is_some()),
            None => shell_ops::exists(self, path),
        }
    }

    fn read_file(&mut self, path: &str) -> ConnResult<Vec<u8>> {
        if let Some(known) = self.cache.reads.get(path) {
            return Ok(known.clone());
        }
        let data = shell_ops::read_file(self, path)?;
        self.cache.reads.insert(path.to_string(), data.clone());
        Ok(data)
    }

    fn write_file(&mut self, path: &str, data: &[u8], attrs: &FileAttrs) -> ConnResult<()> {
        // What this task saw of the file it replaces (what it points to, as the write
        // keeps the mode of what a link points to).
        let known = self
            .cache
            .stats
            .get(path)
            .map(|(_, followed)| followed.clone());
        self.cache.clear();
        self.write_file_step(path, data, attrs, known)
    }

    fn mkdir_all(&mut self, path: &str, mode: Option<u32>) -> ConnResult<()> {
        self.cache.clear();
        shell_ops::mkdir_all(self, path, mode)
    }

    fn remove(&mut self, path: &str, recursive: bool) -> ConnResult<()> {
        self.cache.clear();
        shell_ops::remove(self, path, recursive)
    }

    fn symlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()> {
        self.cache.clear();
        shell_ops::link(self, target, link, force, true)
    }

    fn hardlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()> {
        self.cache.clear();
        shell_ops::link(self, target, link, force, false)
    }

    fn set_attrs(&mut self, path: &str, attrs: &FileAttrs, follow: bool) -> ConnResult<()> {
        // A new mode alone on a path this task stat'ed (not a link): what it is after
        // `chmod` is known (but for its ctime, which no module reports), and the step
        // needs no `stat`.
        let known = match self.cache.stats.get(path) {
            Some((Some(st), _))
                if st.kind != FileKind::Symlink
                    && attrs.owner.is_none()
                    && attrs.group.is_none() =>
            {
                attrs.mode.map(|mode| FileStat { mode, ..st.clone() })
            }
            _ => None,
        };
        self.cache.clear();
        match known {
            Some(now) => {
                shell_ops::chmod(self, path, now.mode)?;
                self.cache.changed(path, (Some(now.clone()), Some(now)));
            }
            None => {
                let now = shell_ops::set_attrs(self, path, attrs, follow)?;
                self.cache.changed(path, now);
            }
        }
        Ok(())
    }

    fn set_times(&mut self, path: &str, atime: f64, mtime: f64) -> ConnResult<()> {
        self.cache.clear();
        shell_ops::set_times(self, path, atime, mtime)
    }

    fn list_dir(&mut self, path: &str) -> ConnResult<Vec<String>> {
        shell_ops::list_dir(self, path)
    }

    fn home_dir(&mut self) -> ConnResult<String> {
        shell_ops::home_dir(self)
    }
}

impl Drop for SshConnection {
    fn drop(&mut self) {
        self.reset();
    }
}
