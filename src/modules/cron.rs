//! `cron`: a job (under a `#Ansible: NAME` marker line) or, with `env`, a variable in
//! a user's crontab (read by `crontab -l`, installed by `crontab -` on stdin) or in a
//! `cron_file` (relative names under `/etc/cron.d`; the file is removed when its last
//! job goes). Lines are built, found and replaced as Ansible's module does; returns
//! `jobs` and `envs` (the names in the file), `--diff` shows the whole crontab.
//!
//! Not supported: `backup`, non-Linux crontab commands.

use crate::connection::{Connection, ExecRequest, FileAttrs};
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Cron;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).required(),
    Param::new("user", Kind::Str),
    Param::new("job", Kind::Str).aliases(&["value"]),
    Param::new("cron_file", Kind::Path),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["present", "absent"]),
    Param::new("minute", Kind::Str).default("*"),
    Param::new("hour", Kind::Str).default("*"),
    Param::new("day", Kind::Str).default("*").aliases(&["dom"]),
    Param::new("month", Kind::Str).default("*"),
    Param::new("weekday", Kind::Str)
        .default("*")
        .aliases(&["dow"]),
    Param::new("special_time", Kind::Str).choices(&[
        "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly",
    ]),
    Param::new("disabled", Kind::Bool).default("no"),
    Param::new("env", Kind::Bool).default("no"),
    Param::new("insertafter", Kind::Str),
    Param::new("insertbefore", Kind::Str),
])
.mutually_exclusive(&[&["insertafter", "insertbefore"]]);

const MARKER: &str = "#Ansible: ";

/// Where the crontab lives.
enum Target {
    File(String),
    /// A user's crontab; `None` is the connecting user's.
    User(Option<String>),
}

impl Module for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let name = args.str("name").unwrap_or_default();
        let user = args.str("user");
        let install = args.str("state") == Some("present");
        let target = match args.str("cron_file") {
            Some("/etc/crontab") => {
                return Ok(ModuleResult::failed(
                    "Will not manage /etc/crontab via cron_file, see documentation.",
                ));
            }
            Some(f) if f.starts_with('/') => Target::File(f.to_string()),
            Some(f) => Target::File(format!("/etc/cron.d/{f}")),
            None => Target::User(user.map(str::to_string)),
        };
        let times =
            ["minute", "hour", "day", "month", "weekday"].map(|t| args.str(t).unwrap_or("*"));
        let special = args.str("special_time");
        if special.is_some() && times.iter().any(|t| *t != "*") {
            return Ok(ModuleResult::failed(
                "You cannot combine special_time with any of the time or day/date parameters.",
            ));
        }
        let job = args.str("job");
        let env = args.bool("env");
        if install {
            if matches!(target, Target::File(_)) && user.is_none() {
                return Ok(ModuleResult::failed(
                    "To use cron_file=... parameter you must specify user=... as well",
                ));
            }
            if job.is_none() {
                return Ok(ModuleResult::failed(
                    "You must specify 'job' to install a new cron job or variable",
                ));
            }
            if (args.get("insertafter").is_some() || args.get("insertbefore").is_some()) && !env {
                return Ok(ModuleResult::failed(
                    "Insertafter and insertbefore parameters are valid only with env=yes",
                ));
            }
        }
        let user_column = match target {
            Target::File(_) => user,
            Target::User(_) => None,
        };
        let existing = read(ctx.conn, &target)?;
        let mut tab = CronTab {
            lines: existing.lines().map(str::to_string).collect(),
        };
        let mut changed = false;
        if env {
            if name.contains(' ') {
                return Ok(ModuleResult::failed(
                    "Invalid name for environment variable",
                ));
            }
            let decl = format!("{name}=\"{}\"", job.unwrap_or_default());
            match (tab.find_env(name), install) {
                (None, true) => {
                    let anchor = args
                        .str("insertafter")
                        .map(|a| (a, 1))
                        .or(args.str("insertbefore").map(|b| (b, 0)));
                    let at = match anchor {
                        None => 0,
                        Some((other, offset)) => match tab.find_env(other) {
                            Some(i) => i + offset,
                            None => {
                                return Ok(ModuleResult::failed(format!(
                                    "Variable named '{other}' not found."
                                )));
                            }
                        },
                    };
                    tab.lines.insert(at, decl);
                    changed = true;
                }
                (Some(i), true) if tab.lines[i] != decl => {
                    tab.lines[i] = decl;
                    changed = true;
                }
                (Some(_), false) => {
                    tab.lines.retain(|l| !is_env(l, name));
                    changed = true;
                }
                _ => {}
            }
        } else if install {
            let line = job_line(
                times,
                special,
                user_column,
                job.unwrap_or_default(),
                args.bool("disabled"),
            );
            changed = tab.set_job(name, &line);
        } else if tab.job_index(name).is_some() {
            tab.remove_job(name);
            changed = true;
            if let Target::File(path) = &target
                && tab.lines.iter().all(|l| l.trim().is_empty())
            {
                return remove_file(ctx, path, &existing, args);
            }
        }
        // A crontab without a final line break is rewritten (cron ignores the last line).
        if !changed && !existing.is_empty() && !existing.ends_with(['\n', '\r']) {
            changed = true;
        }
        let after = tab.render();
        let mut result = ModuleResult::changed(changed)
            .with("jobs", tab.names())
            .with("envs", tab.env_names());
        if let Some(file) = args.str("cron_file") {
            // The parameter as given (`probe`, not `/etc/cron.d/probe`), as Ansible echoes it.
            result = result.with("cron_file", file);
        }
        if changed {
            if !ctx.check_mode {
                write(ctx.conn, &target, &after)?;
            }
            if ctx.diff_mode {
                let header = match &target {
                    Target::File(path) => path.clone(),
                    Target::User(Some(u)) => format!("crontab for user \"{u}\""),
                    Target::User(None) => "crontab".to_string(),
                };
                result.diff.push(Diff {
                    before: existing,
                    after,
                    before_header: Some(header.clone()),
                    after_header: Some(header),
                    ..Diff::default()
                });
            }
        }
        Ok(result)
    }
}

/// The last job of a cron file went: the file goes too.
fn remove_file(
    ctx: &mut ModuleContext<'_>,
    path: &str,
    before: &str,
    args: &Args,
) -> Result<ModuleResult, ModuleError> {
    let exists = ctx.conn.stat(path, true)?.is_some();
    if !ctx.check_mode && exists {
        ctx.conn.remove(path, false)?;
    }
    let mut result = ModuleResult::changed(exists)
        .with(
            "cron_file",
            args.get("cron_file").cloned().unwrap_or_default(),
        )
        .with("state", "absent");
    if ctx.diff_mode {
        result.diff.push(Diff {
            before: before.to_string(),
            after: String::new(),
            before_header: Some(path.to_string()),
            after_header: Some("/dev/null".to_string()),
            ..Diff::default()
        });
    }
    Ok(result)
}

fn job_line(
    times: [&str; 5],
    special: Option<&str>,
    user: Option<&str>,
    job: &str,
    disabled: bool,
) -> String {
    let mut fields = Vec::new();
    match special {
        Some(s) => fields.push(format!("@{s}")),
        None => fields.extend(times.iter().map(|t| t.to_string())),
    }
    fields.extend(user.map(str::to_string));
    fields.push(job.trim_matches(['\r', '\n']).to_string());
    format!("{}{}", if disabled { "#" } else { "" }, fields.join(" "))
}

fn is_env(line: &str, name: &str) -> bool {
    line.strip_prefix(name)
        .is_some_and(|rest| rest.starts_with('='))
}

struct CronTab {
    lines: Vec<String>,
}

impl CronTab {
    /// The index of the marker line of job `name`.
    fn job_index(&self, name: &str) -> Option<usize> {
        let marker = format!("{MARKER}{name}");
        self.lines
            .iter()
            .position(|l| *l == marker)
            .filter(|i| i + 1 < self.lines.len())
    }

    /// Put job `name` as `line`: replace its line, or adopt an identical unmarked
    /// line, or append it. Whether anything changed.
    fn set_job(&mut self, name: &str, line: &str) -> bool {
        let marker = format!("{MARKER}{name}");
        if let Some(i) = self.job_index(name) {
            if self.lines[i + 1] == line {
                return false;
            }
            self.lines[i + 1] = line.to_string();
            return true;
        }
        if let Some(i) = self.lines.iter().position(|l| l == line) {
            // The job is there without its marker: mark it.
            if i > 0 && self.lines[i - 1] == MARKER.trim_end() {
                self.lines[i - 1] = marker;
            } else if i == 0 || !self.lines[i - 1].starts_with(MARKER) {
                self.lines.insert(i, marker);
            }
            return true;
        }
        self.lines.push(marker);
        self.lines.push(line.to_string());
        true
    }

    /// Drop every marker line of `name` and the line after it.
    fn remove_job(&mut self, name: &str) {
        let marker = format!("{MARKER}{name}");
        let mut out = Vec::new();
        let mut skip_next = false;
        for line in self.lines.drain(..) {
            if skip_next {
                skip_next = false;
            } else if line == marker {
                skip_next = true;
            } else {
                out.push(line);
            }
        }
        self.lines = out;
    }

    fn find_env(&self, name: &str) -> Option<usize> {
        self.lines.iter().position(|l| is_env(l, name))
    }

    fn names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(MARKER))
            .map(str::to_string)
            .collect()
    }

    fn env_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| {
                l.split_once('=')
                    .is_some_and(|(k, _)| !k.is_empty() && !k.contains(char::is_whitespace))
            })
            .map(|l| l.split('=').next().unwrap_or_default().to_string())
            .collect()
    }

    fn render(&self) -> String {
        let text = self.lines.join("\n");
        if text.is_empty() {
            return text;
        }
        format!("{}\n", text.trim_end_matches(['\r', '\n']))
    }
}

/// `-u USER` when the crontab is another user's than the connecting one.
fn user_flag(conn: &mut dyn Connection, user: &Option<String>) -> Result<Vec<String>, String> {
    let Some(user) = user else {
        return Ok(Vec::new());
    };
    let me = remote::run_ok(conn, &["id", "-un"])?
        .stdout
        .trim()
        .to_string();
    Ok(if me == *user {
        Vec::new()
    } else {
        vec!["-u".to_string(), user.clone()]
    })
}

/// The crontab's text; a user crontab without its `crontab -l` header lines.
fn read(conn: &mut dyn Connection, target: &Target) -> Result<String, String> {
    match target {
        Target::File(path) => Ok(match conn.stat(path, true)? {
            Some(_) => String::from_utf8_lossy(&conn.read_file(path)?).into_owned(),
            None => String::new(),
        }),
        Target::User(user) => {
            let mut argv = vec!["crontab".to_string()];
            argv.extend(user_flag(conn, user)?);
            argv.push("-l".into());
            let ran = remote::run_req(conn, &ExecRequest::argv(argv))?;
            match ran.rc {
                // 1: no crontab yet.
                0 | 1 => {}
                127 => return Err("crontab is not installed on the host".into()),
                rc => {
                    return Err(format!(
                        "Unable to read crontab (rc={rc}): {}",
                        ran.message()
                    ));
                }
            }
            let mut text = ran.stdout;
            for header in text.clone().lines().take(3) {
                if header.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.")
                    || (header.starts_with("# (/tmp/") && header.contains("installed on"))
                    || (header.starts_with("# (") && header.contains("version"))
                {
                    text = text.replacen(&format!("{header}\n"), "", 1);
                }
            }
            Ok(text)
        }
    }
}

fn write(conn: &mut dyn Connection, target: &Target, text: &str) -> Result<(), String> {
    match target {
        Target::File(path) => Ok(conn.write_file(path, text.as_bytes(), &FileAttrs::default())?),
        Target::User(user) => {
            let mut argv = vec!["crontab".to_string()];
            argv.extend(user_flag(conn, user)?);
            argv.push("-".into());
            let mut req = ExecRequest::argv(argv);
            req.stdin = Some(text.as_bytes().to_vec());
            let ran = remote::run_req(conn, &req)?;
            if !ran.ok() {
                return Err(format!("Failed to install new cronfile: {}", ran.message()));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const FILE: &str = "/etc/cron.d/backup";

    #[test]
    fn a_cron_file_job_is_added_replaced_and_the_file_removed_with_its_last_job() {
        let mut h = Harness::fake(FakeConnection::new()).diff();
        let args = json!({"name": "nightly", "job": "/usr/bin/backup", "hour": "2", "minute": "30",
                          "user": "root", "cron_file": "backup"});
        let r = h.run(&Cron, args.clone());
        assert!(r.changed);
        assert_eq!(
            h.conn.read_file(FILE).unwrap(),
            b"#Ansible: nightly\n30 2 * * * root /usr/bin/backup\n"
        );
        assert_eq!(r.data["jobs"], json!(["nightly"]));
        assert_eq!(r.diff[0].before_header.as_deref(), Some(FILE));
        assert!(!h.run(&Cron, args).changed);
        h.run(
            &Cron,
            json!({"name": "nightly", "job": "/usr/bin/backup", "special_time": "daily",
                            "user": "root", "cron_file": "backup", "disabled": true}),
        );
        assert_eq!(
            h.conn.read_file(FILE).unwrap(),
            b"#Ansible: nightly\n#@daily root /usr/bin/backup\n"
        );
        let r = h.run(
            &Cron,
            json!({"name": "nightly", "cron_file": "backup", "state": "absent"}),
        );
        assert!(r.changed);
        assert!(h.conn.files.is_empty());
    }

    #[test]
    fn a_user_crontab_is_read_with_l_and_installed_on_stdin() {
        let conn = FakeConnection::new().on("^id -un", 0, "root\n").on(
            "^crontab -u app -l",
            0,
            "# DO NOT EDIT THIS FILE - edit the master and reinstall.\nMAILTO=x\n",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Cron,
            json!({"name": "PATH", "job": "/bin", "env": true, "user": "app",
                                    "insertafter": "MAILTO"}),
        );
        assert!(r.changed);
        assert_eq!(r.data["envs"], json!(["MAILTO", "PATH"]));
        assert_eq!(
            h.conn.ran("^crontab"),
            ["crontab -u app -l", "crontab -u app -"]
        );
    }

    #[test]
    fn parameter_errors_as_ansible() {
        let mut h = Harness::fake(FakeConnection::new());
        let r = h.run(&Cron, json!({"name": "x", "job": "y", "cron_file": "f"}));
        assert_eq!(
            r.msg.as_deref(),
            Some("To use cron_file=... parameter you must specify user=... as well")
        );
        let r = h.run(
            &Cron,
            json!({"name": "x", "job": "y", "special_time": "daily", "hour": "1"}),
        );
        assert!(
            r.msg
                .unwrap()
                .starts_with("You cannot combine special_time")
        );
    }
}
