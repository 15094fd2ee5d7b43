//! `async:` with `poll: 0`: start a task's work in the background on the host and
//! report the job (`ansible_job_id`), as Ansible's async wrapper does; `async_status`
//! reads it later.
//!
//! Modules run on the controller, so what goes to the background is the module's
//! commands: [`Detaching`] hands the module a connection whose `exec` starts the
//! command with `nohup` (its output and exit status go to the job's files) and
//! answers at once. A module that ran no command (a `creates:` that held, a file
//! module) is done already: its result is saved as the job's `<jid>.json`.
//! With `poll: N > 0`, the task simply runs in the foreground under its `async:` time
//! limit (see `task_settings`), which is what the user observes in Ansible too.

use super::result::module_result_map;
use crate::connection::shell_ops::{command_script, quote};
use crate::connection::{
    Access, ConnError, ConnResult, Connection, ExecOutput, ExecRequest, FileAttrs, FileStat,
    TaskSettings,
};
use crate::modules::async_status::job_dir;
use crate::modules::{Args, Module, ModuleContext, ModuleResult};
use crate::value::Value;

/// A new job id, shaped as Ansible's (`j` + digits + `.` + pid).
pub fn new_job_id() -> String {
    format!(
        "j{}.{}",
        fastrand::u64(100_000_000_000..1_000_000_000_000),
        std::process::id()
    )
}

/// Run `module` as a fire-and-forget job and return the job's result.
pub fn start(
    module: &dyn Module,
    args: &Args,
    ctx: &mut ModuleContext<'_>,
    async_dir: Option<&str>,
) -> Result<ModuleResult, String> {
    let jid = new_job_id();
    let dir = job_dir(ctx.conn, async_dir)?;
    ctx.conn.mkdir_all(&dir, Some(0o700))?;
    let base = format!("{dir}/{jid}");
    let (started, outcome) = {
        let mut detaching = Detaching {
            inner: &mut *ctx.conn,
            base: base.clone(),
            started: false,
        };
        let mut inner_ctx = ModuleContext {
            conn: &mut detaching,
            check_mode: ctx.check_mode,
            diff_mode: ctx.diff_mode,
            search_paths: ctx.search_paths,
            templating: ctx.templating,
            host: ctx.host,
            verbosity: ctx.verbosity,
        };
        let outcome = module.run(args, &mut inner_ctx);
        (detaching.started, outcome)
    };
    if !started {
        // Done in the foreground: the job's result is the module's.
        let result = match outcome {
            Ok(r) => r,
            Err(msg) => ModuleResult::failed(msg),
        };
        let json = serde_json::to_vec(&Value::Object(module_result_map(&result)))
            .map_err(|e| e.to_string())?;
        let attrs = FileAttrs {
            mode: Some(0o600),
            ..FileAttrs::default()
        };
        ctx.conn
            .write_file(&format!("{base}.json"), &json, &attrs)?;
    }
    Ok(ModuleResult::changed(true)
        .with("ansible_job_id", jid)
        .with("results_file", base)
        .with("started", true)
        .with("finished", false))
}

/// A connection that starts commands in the background and passes every other step
/// through.
struct Detaching<'a> {
    inner: &'a mut dyn Connection,
    /// The job's files, without extension.
    base: String,
    started: bool,
}

impl Detaching<'_> {
    /// `( export ...; cd DIR; exec CMD ) >OUT 2>ERR <IN; echo $? >RC`, detached.
    fn launch(&mut self, req: &ExecRequest) -> ConnResult<()> {
        let b = &self.base;
        let script = command_script(&[], req)?;
        let input = match &req.stdin {
            Some(data) => {
                let path = format!("{b}.in");
                let attrs = FileAttrs {
                    mode: Some(0o600),
                    ..FileAttrs::default()
                };
                self.inner.write_file(&path, data, &attrs)?;
                path
            }
            None => "/dev/null".to_string(),
        };
        let started = self
            .inner
            .exec(&ExecRequest::shell(launcher(b, &script, &input)?))?;
        if started.rc != 0 {
            return Err(ConnError::new(format!(
                "could not start the job: {}",
                String::from_utf8_lossy(&started.stderr).trim()
            )));
        }
        self.started = true;
        Ok(())
    }
}

/// The script that starts `script` as job `base` (`<base>.out`, `.err`, `.rc`) with
/// `input` as its stdin, and returns at once.
fn launcher(base: &str, script: &str, input: &str) -> ConnResult<String> {
    let (out, err, rc, input) = (
        quote(&format!("{base}.out"))?,
        quote(&format!("{base}.err"))?,
        quote(&format!("{base}.rc"))?,
        quote(input)?,
    );
    let job =
        format!("(\n{script}\n) >{out} 2>{err} <{input}; echo $? >{rc}.tmp && mv -f {rc}.tmp {rc}");
    // The output file exists before this returns, so that an `async_status` right
    // after sees a started job: made in the foreground (`a && b &` would run both in
    // the background, and a quick `async_status` found no job).
    Ok(format!(
        ": >{out} || exit 1\nnohup /bin/sh -c {} >/dev/null 2>&1 </dev/null &",
        quote(&job)?
    ))
}

impl Connection for Detaching<'_> {
    fn set_task_settings(&mut self, settings: TaskSettings) {
        self.inner.set_task_settings(settings);
    }

    fn exec(&mut self, req: &ExecRequest) -> ConnResult<ExecOutput> {
        self.launch(req)?;
        Ok(ExecOutput::default())
    }

    fn stat(&mut self, path: &str, follow: bool) -> ConnResult<Option<FileStat>> {
        self.inner.stat(path, follow)
    }

    fn exists(&mut self, path: &str) -> ConnResult<bool> {
        self.inner.exists(path)
    }

    fn access(&mut self, path: &str) -> ConnResult<Access> {
        self.inner.access(path)
    }

    fn read_file(&mut self, path: &str) -> ConnResult<Vec<u8>> {
        self.inner.read_file(path)
    }

    fn write_file(&mut self, path: &str, data: &[u8], attrs: &FileAttrs) -> ConnResult<()> {
        self.inner.write_file(path, data, attrs)
    }

    fn mkdir_all(&mut self, path: &str, mode: Option<u32>) -> ConnResult<()> {
        self.inner.mkdir_all(path, mode)
    }

    fn remove(&mut self, path: &str, recursive: bool) -> ConnResult<()> {
        self.inner.remove(path, recursive)
    }

    fn symlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()> {
        self.inner.symlink(target, link, force)
    }

    fn hardlink(&mut self, target: &str, link: &str, force: bool) -> ConnResult<()> {
        self.inner.hardlink(target, link, force)
    }

    fn set_attrs(&mut self, path: &str, attrs: &FileAttrs, follow: bool) -> ConnResult<()> {
        self.inner.set_attrs(path, attrs, follow)
    }

    fn set_times(&mut self, path: &str, atime: f64, mtime: f64) -> ConnResult<()> {
        self.inner.set_times(path, atime, mtime)
    }

    fn list_dir(&mut self, path: &str) -> ConnResult<Vec<String>> {
        self.inner.list_dir(path)
    }

    fn home_dir(&mut self) -> ConnResult<String> {
        self.inner.home_dir()
    }

    fn unreachable(&self) -> Option<&str> {
        self.inner.unreachable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `async_status` right after the start must see the job: its output file is
    /// there when the launcher returns, however slowly the background part starts.
    #[test]
    fn the_jobs_output_file_exists_when_the_launcher_returns() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            let base = dir.path().join(format!("j{i}")).display().to_string();
            let script = launcher(&base, "exec sleep 1", "/dev/null").unwrap();
            let status = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(&script)
                .status()
                .unwrap();
            assert!(status.success());
            assert!(
                std::path::Path::new(&format!("{base}.out")).exists(),
                "no {base}.out right after the launcher returned"
            );
        }
    }
}
