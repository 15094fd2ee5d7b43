//! How modules act on a host. Modules run on the controller and reach the host only
//! through [`Connection`]: run a command, read, write (atomically), stat, and change
//! file attributes. `local` acts on this machine; `ssh` (a later layer) over one
//! persistent session per host.

pub mod local;
pub mod shell_ops;
pub mod ssh;

use std::path::Path;
use std::time::Duration;

pub use local::LocalConnection;
pub use ssh::SshConnection;

/// What to run.
#[derive(Clone, Debug)]
pub enum Command {
    /// An argv vector, run without a shell.
    Argv(Vec<String>),
    /// A command line run by `executable -c` (default `/bin/sh`).
    Shell {
        cmd: String,
        executable: Option<String>,
    },
}

/// Privilege escalation for one command or file operation.
#[derive(Clone, Debug, Default)]
pub struct Become {
    /// `sudo` or `su`.
    pub method: String,
    pub user: String,
    pub flags: Option<String>,
    /// Given to the become program on stdin, never on a command line.
    pub password: Option<String>,
}

/// One command execution.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    pub command: Command,
    pub stdin: Option<Vec<u8>>,
    pub chdir: Option<String>,
    pub env: Vec<(String, String)>,
    pub become_: Option<Become>,
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    pub fn argv(argv: Vec<String>) -> ExecRequest {
        ExecRequest::new(Command::Argv(argv))
    }

    pub fn shell(cmd: impl Into<String>) -> ExecRequest {
        ExecRequest::new(Command::Shell {
            cmd: cmd.into(),
            executable: None,
        })
    }

    pub fn new(command: Command) -> ExecRequest {
        ExecRequest {
            command,
            stdin: None,
            chdir: None,
            env: Vec::new(),
            become_: None,
            timeout: None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ExecOutput {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A condition on a path that a command runs under (`creates`, `removes`).
#[derive(Clone, Debug)]
pub struct PathGuard {
    pub path: String,
    /// Run only if the path exists (`removes`), else only if it does not (`creates`).
    pub must_exist: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    BlockDevice,
    CharDevice,
    /// A kind the host reported that none of the above names.
    Other,
}

/// What `stat` tells about a path.
#[derive(Clone, Debug)]
pub struct FileStat {
    pub kind: FileKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub mtime: f64,
    pub atime: f64,
    pub ctime: f64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    /// The target of a symlink (when `kind` is `Symlink`).
    pub link_target: Option<String>,
}

/// What the user a task runs as may do with a path, as the host's `test -r/-w/-x` says
/// (it knows the host's users, groups and ACLs; the controller does not).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Access {
    pub readable: bool,
    pub writeable: bool,
    pub executable: bool,
    /// For a symlink, where it leads in the end (`readlink -f`).
    pub resolved: Option<String>,
}

/// The attributes a write or a module sets on a path; `None` leaves one as it is.
#[derive(Clone, Debug, Default)]
pub struct FileAttrs {
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// A failure of the transport itself (not of the command it ran).
#[derive(Clone, Debug)]
pub struct ConnError {
    pub message: String,
    /// The host cannot be reached at all: the engine marks it unreachable.
    pub unreachable: bool,
}

impl ConnError {
    pub fn new(message: impl Into<String>) -> ConnError {
        ConnError {
            message: message.into(),
            unreachable: false,
        }
    }

    pub fn unreachable(message: impl Into<String>) -> ConnError {
        ConnError {
            message: message.into(),
            unreachable: true,
        }
    }

    pub fn io(what: &str, path: &Path, err: &std::io::Error) -> ConnError {
        ConnError::new(format!("{what} {}: {err}", path.display()))
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A module's `?` on a connection step: the task fails with the transport's message.
impl From<ConnError> for String {
    fn from(e: ConnError) -> String {
        e.message
    }
}

pub type ConnResult<T> = Result<T, ConnError>;

/// What applies to every command of the task about to run: its `environment:` and its
/// privilege escalation. A request that sets its own `become_` keeps it.
#[derive(Clone, Debug, Default)]
pub struct TaskSettings {
    pub env: Vec<(String, String)>,
    pub become_: Option<Become>,
    /// A time limit for each command of the task (`timeout:`, `async:`), unless the
    /// request sets its own.
    pub timeout: Option<Duration>,
}

/// The operations a module may perform on its host. Paths are the host's paths.
/// Every method is one logical step; an implementation may batch it into one round trip.
pub trait Connection: Send {
    /// Set what the next steps run with (the engine calls this before each task).
    fn set_task_settings(&mut self, settings: TaskSettings);

    /// Run a command and wait for it.
    fn exec(&mut self, req: &ExecRequest) -> ConnResult<ExecOutput>;

    /// Run a command unless one of `guards` stops it (a path that exists, or does not,
    /// following links): `Err(i)` names the first that did. The default checks them one
    /// `stat` at a time first; a connection may check them in the command's own step.
    fn exec_guarded(
        &mut self,
        req: &ExecRequest,
        guards: &[PathGuard],
    ) -> ConnResult<Result<ExecOutput, usize>> {
        for (i, guard) in guards.iter().enumerate() {
            if self.stat(&guard.path, true)?.is_some() != guard.must_exist {
                return Ok(Err(i));
            }
        }
        self.exec(req).map(Ok)
    }

    /// `lstat` (or `stat` when `follow`); `Ok(None)` when the path does not exist.
    fn stat(&mut self, path: &str, follow: bool) -> ConnResult<Option<FileStat>>;

    /// `stat` following links and, for a regular file, its content: what a module that
    /// may rewrite a file needs first. A connection may answer both in one step.
    fn stat_and_read(&mut self, path: &str) -> ConnResult<Option<(FileStat, Option<Vec<u8>>)>> {
        let Some(st) = self.stat(path, true)? else {
            return Ok(None);
        };
        let content = match st.kind {
            FileKind::File => Some(self.read_file(path)?),
            _ => None,
        };
        Ok(Some((st, content)))
    }

    /// Whether something is at `path`, following links (a dangling link is nothing).
    fn exists(&mut self, path: &str) -> ConnResult<bool> {
        Ok(self.stat(path, true)?.is_some())
    }

    /// What the task's user may do with `path`. The default runs the probe as a
    /// command; a connection with a shell of its own runs it there.
    fn access(&mut self, path: &str) -> ConnResult<Access> {
        let out = self.exec(&ExecRequest::shell(shell_ops::access_script(path)?))?;
        Ok(shell_ops::parse_access(&out.stdout))
    }

    /// The whole content of a file.
    fn read_file(&mut self, path: &str) -> ConnResult<Vec<u8>>;

    /// Replace `path` atomically: write a temp file in the same directory, set its
    /// attributes (mode/owner/group given, else those of the file it replaces, else
    /// 0644 less umask), fsync, rename over `path`. A reader never sees a partial file.
    fn write_file(&mut self, path: &str, data: &[u8], attrs: &FileAttrs) -> ConnResult<()>;

    /// Create a directory and its missing parents (`mkdir -p`), new ones with `mode`.
    fn mkdir_all(&mut self, path: &str, mode: Option<u32>) -> ConnResult<()>;

    /// Remove a file, a symlink, or (with `recursive`) a directory tree.
    fn remove(&mut self, path: &str, recursive: bool) -> ConnResult<()>;

    /// Create a symlink at `link` pointing to `target` (replacing what is at `link` when `force`).
    fn symlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()>;

    /// Create a hard link at `link` to `target`.
    fn hardlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()>;

    /// Set mode and ownership (names or numeric ids); `None` parts are left alone.
    fn set_attrs(&mut self, path: &str, attrs: &FileAttrs, follow: bool) -> ConnResult<()>;

    /// Set access and modification times (seconds since the epoch).
    fn set_times(&mut self, path: &str, atime: f64, mtime: f64) -> ConnResult<()>;

    /// The entries of a directory (names only, no `.`/`..`), sorted.
    fn list_dir(&mut self, path: &str) -> ConnResult<Vec<String>>;

    /// The remote user's home directory, for `~` expansion.
    fn home_dir(&mut self) -> ConnResult<String>;

    /// Why the host became unreachable during the current task (since the last
    /// [`set_task_settings`](Connection::set_task_settings)), if it did: a module turns
    /// transport errors into a failure message, and the engine reports the host
    /// unreachable instead.
    fn unreachable(&self) -> Option<&str> {
        None
    }
}
