//! `dnf` and `yum` (which Ansible 2.19 redirects to `dnf`): RPM packages with the `dnf`
//! command line (`yum` uses `yum` on hosts that have no `dnf`), decided with `rpm -q`
//! (then `rpm -q --whatprovides`) before anything runs, and `dnf check-update` for
//! `latest`; so a second run changes nothing and check mode runs nothing that changes
//! the host. Results as Ansible's: `msg`, `results` (`Installed: NEVRA`, `Removed: …`),
//! `rc`.
//!
//! Names may be packages with versions (`hello-2.10`), provides (`/usr/bin/hello`),
//! local `.rpm` files or URLs (queried with `rpm -qp`), groups and modules (`@name`,
//! which dnf itself decides: "Nothing to do" is unchanged), or `*` with `latest`.
//!
//! Not supported: `list`, `security`/`bugfix`, `download_only`/`download_dir`,
//! `enable_plugin`/`disable_plugin`, `disable_excludes`, `cacheonly`, `best`/`nobest`,
//! `sslverify`/`validate_certs`, `lock_timeout`, `allowerasing`.
//!
//! No RPM host exists in the test rig: this module is tested with a fake host only.

use std::collections::HashSet;

use crate::connection::Connection;
use crate::modules::system::{Run, has_command, run, run_env, with_output};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{self, Value};

/// The module under one of its names.
pub struct Dnf {
    name: &'static str,
}

impl Dnf {
    pub const DNF: Dnf = Dnf { name: "dnf" };
    pub const YUM: Dnf = Dnf { name: "yum" };
}

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::List).aliases(&["pkg"]),
    Param::new("state", Kind::Str).choices(&[
        "absent",
        "installed",
        "latest",
        "present",
        "removed",
    ]),
    Param::new("enablerepo", Kind::List),
    Param::new("disablerepo", Kind::List),
    Param::new("disable_gpg_check", Kind::Bool).default("no"),
    Param::new("update_cache", Kind::Bool).aliases(&["expire-cache"]),
    Param::new("update_only", Kind::Bool).default("no"),
    Param::new("conf_file", Kind::Str),
    Param::new("installroot", Kind::Str).default("/"),
    Param::new("releasever", Kind::Str),
    Param::new("autoremove", Kind::Bool).default("no"),
    Param::new("exclude", Kind::List),
    Param::new("skip_broken", Kind::Bool).default("no"),
    Param::new("allow_downgrade", Kind::Bool).default("no"),
    Param::new("install_weak_deps", Kind::Bool).default("yes"),
])
.required_one_of(&[&["name", "update_cache"]]);

const NOTHING: &str = "Nothing to do";

impl Module for Dnf {
    fn name(&self) -> &'static str {
        self.name
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let names = args.list("name");
        let program = if self.name == "yum" && !has_command(ctx.conn, "dnf")? {
            "yum"
        } else {
            "dnf"
        };
        let cli = Cli::new(program, args, ctx.check_mode);
        if args.bool("update_cache") {
            let r = cli.run(ctx.conn, &["makecache"], &[])?;
            if !r.success() {
                return Ok(failure(
                    format!("Failed to synchronize repodata: {}", r.output().trim()),
                    &r,
                ));
            }
            if names.is_empty() {
                return Ok(response("Cache updated", Vec::new()));
            }
        }
        let state = match args.str("state") {
            Some(s) => s,
            None if args.bool("autoremove") => "absent",
            None => "installed",
        };
        if args.bool("autoremove") && !matches!(state, "absent" | "removed") {
            return Ok(ModuleResult::failed(
                "Autoremove should be used alone or with state=absent",
            ));
        }
        match state {
            "absent" | "removed" => {
                let installed = cli.installed(ctx.conn, &names)?;
                let present: Vec<String> = names
                    .iter()
                    .filter(|n| installed.contains(n.as_str()))
                    .cloned()
                    .collect();
                if present.is_empty() {
                    return Ok(response(NOTHING, Vec::new()));
                }
                cli.transaction(ctx.conn, "remove", &present)
            }
            "latest" if names.iter().any(|n| n == "*") => cli.upgrade(ctx.conn, &[]),
            _ => {
                let (groups, packages): (Vec<String>, Vec<String>) =
                    names.into_iter().partition(|n| n.starts_with('@'));
                let installed = cli.installed(ctx.conn, &packages)?;
                let (have, missing): (Vec<String>, Vec<String>) = packages
                    .into_iter()
                    .partition(|n| installed.contains(n.as_str()));
                let mut install: Vec<String> = groups;
                if !args.bool("update_only") {
                    install.extend(missing);
                }
                let mut result = if install.is_empty() {
                    response(NOTHING, Vec::new())
                } else {
                    cli.transaction(ctx.conn, "install", &install)?
                };
                if state == "latest" && !have.is_empty() && !result.failed {
                    let upgraded = cli.upgrade(ctx.conn, &have)?;
                    result = merge(result, upgraded);
                }
                Ok(result)
            }
        }
    }
}

/// The options every command of one task shares.
struct Cli {
    program: &'static str,
    options: Vec<String>,
    check_mode: bool,
}

impl Cli {
    fn new(program: &'static str, args: &Args, check_mode: bool) -> Cli {
        let mut options = vec!["-y".to_string()];
        // Disabling first lets `disablerepo: '*'` with `enablerepo: x` mean "only x".
        for repo in args.list("disablerepo") {
            options.push(format!("--disablerepo={repo}"));
        }
        for repo in args.list("enablerepo") {
            options.push(format!("--enablerepo={repo}"));
        }
        for pattern in args.list("exclude") {
            options.push(format!("--exclude={pattern}"));
        }
        if args.bool("disable_gpg_check") {
            options.push("--nogpgcheck".into());
        }
        if let Some(conf) = args.str("conf_file") {
            options.push(format!("--config={conf}"));
        }
        if let Some(root) = args.str("installroot").filter(|r| *r != "/") {
            options.push(format!("--installroot={root}"));
        }
        if let Some(release) = args.str("releasever") {
            options.push(format!("--releasever={release}"));
        }
        if args.bool("skip_broken") {
            options.push("--skip-broken".into());
        }
        if args.get("install_weak_deps").and_then(value::to_bool) == Some(false) {
            options.push("--setopt=install_weak_deps=False".into());
        }
        Cli {
            program,
            options,
            check_mode,
        }
    }

    fn run(
        &self,
        conn: &mut dyn Connection,
        words: &[&str],
        names: &[String],
    ) -> Result<Run, String> {
        let mut argv = vec![self.program.to_string()];
        argv.extend(self.options.iter().cloned());
        argv.extend(words.iter().map(|w| w.to_string()));
        argv.extend(names.iter().cloned());
        run_env(conn, &argv, &[("LC_ALL", "C"), ("LANG", "C")])
    }

    /// The names that are installed: by package name or NEVRA (`rpm -q`), by what a
    /// package provides (`rpm -q --whatprovides`), or for `.rpm` files and URLs, the
    /// package inside (`rpm -qp`).
    fn installed(
        &self,
        conn: &mut dyn Connection,
        names: &[String],
    ) -> Result<HashSet<String>, String> {
        let mut found = HashSet::new();
        let (files, plain): (Vec<&String>, Vec<&String>) =
            names.iter().partition(|n| n.ends_with(".rpm"));
        let mut missing = not_installed(conn, &["rpm", "-q"], &plain)?;
        if !missing.is_empty() {
            let unknown: Vec<&String> = plain
                .iter()
                .copied()
                .filter(|n| missing.contains(*n))
                .collect();
            missing = not_installed(conn, &["rpm", "-q", "--whatprovides"], &unknown)?;
        }
        found.extend(plain.into_iter().filter(|n| !missing.contains(*n)).cloned());
        for file in files {
            let nevra = run(
                conn,
                &[
                    "rpm",
                    "-qp",
                    "--qf",
                    "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}",
                    file,
                ],
            )?;
            if nevra.success() && run(conn, &["rpm", "-q", nevra.stdout.trim()])?.success() {
                found.insert(file.clone());
            }
        }
        Ok(found)
    }

    /// `install`/`remove`/`autoremove`: in check mode only what was decided is reported.
    fn transaction(
        &self,
        conn: &mut dyn Connection,
        verb: &str,
        names: &[String],
    ) -> Result<ModuleResult, String> {
        if self.check_mode {
            let done = if verb == "install" {
                "Installed"
            } else {
                "Removed"
            };
            let mut r = response(
                "Check mode: No changes made, but would have if not in check mode",
                names.iter().map(|n| format!("{done}: {n}")).collect(),
            );
            r.changed = true;
            return Ok(r);
        }
        let r = self.run(conn, &[verb], names)?;
        if !r.success() {
            let msg = if verb == "remove" {
                "Failed to remove some of the specified packages"
            } else {
                "Failed to install some of the specified packages"
            };
            return Ok(failure(msg.to_string(), &r));
        }
        Ok(from_output(&r))
    }

    /// `upgrade` of `names` (all packages when empty), asked of `check-update` first.
    fn upgrade(&self, conn: &mut dyn Connection, names: &[String]) -> Result<ModuleResult, String> {
        let check = self.run(conn, &["-q", "check-update"], names)?;
        match check.rc {
            0 => return Ok(response(NOTHING, Vec::new())),
            // 100: updates are available.
            100 => {}
            _ => return Ok(failure("Failed to check for updates".into(), &check)),
        }
        if self.check_mode {
            let mut r = response(
                "Check mode: No changes made, but would have if not in check mode",
                Vec::new(),
            );
            r.changed = true;
            return Ok(r);
        }
        let r = self.run(conn, &["upgrade"], names)?;
        if !r.success() {
            return Ok(failure(
                "Failed to install some of the specified packages".into(),
                &r,
            ));
        }
        Ok(from_output(&r))
    }
}

/// The names among `names` that `rpm` reports as "not installed" / "no package provides".
fn not_installed(
    conn: &mut dyn Connection,
    query: &[&str],
    names: &[&String],
) -> Result<HashSet<String>, String> {
    if names.is_empty() {
        return Ok(HashSet::new());
    }
    let mut argv: Vec<&str> = query.to_vec();
    argv.extend(names.iter().map(|n| n.as_str()));
    let r = run(conn, &argv)?;
    let mut missing = HashSet::new();
    for line in r.stdout.lines().chain(r.stderr.lines()) {
        let name = line
            .strip_prefix("package ")
            .and_then(|l| l.strip_suffix(" is not installed"))
            .or_else(|| line.strip_prefix("no package provides "));
        if let Some(name) = name {
            missing.insert(name.to_string());
        }
    }
    // rpm's exit code counts the names it did not find; anything else went wrong.
    if !r.success() && missing.is_empty() {
        return Err(format!(
            "'{}' failed: {}",
            argv.join(" "),
            r.output().trim()
        ));
    }
    Ok(missing)
}

/// Ansible's dnf response: `msg`, `results`, `rc` 0, unchanged.
fn response(msg: &str, results: Vec<String>) -> ModuleResult {
    ModuleResult::ok()
        .with_msg(msg)
        .with(
            "results",
            Value::Array(results.into_iter().map(Value::String).collect()),
        )
        .with("rc", 0)
}

fn failure(msg: String, r: &Run) -> ModuleResult {
    let mut result = with_output(ModuleResult::failed(msg), r).with("rc", r.rc);
    result.data.insert(
        "failures".into(),
        Value::Array(vec![Value::String(r.output().trim().to_string())]),
    );
    result
}

/// What a dnf transaction did, read from its summary: `Installed:`, `Upgraded:`,
/// `Removed:` sections list packages, several to an indented line.
fn from_output(r: &Run) -> ModuleResult {
    if r.stdout.contains(NOTHING) {
        return with_output(response(NOTHING, Vec::new()), r);
    }
    let mut results = Vec::new();
    let mut section: Option<&str> = None;
    for line in r.stdout.lines() {
        if !line.starts_with(' ') {
            section = match line.trim_end() {
                "Installed:" | "Upgraded:" | "Downgraded:" | "Reinstalled:" => Some("Installed"),
                "Removed:" | "Erased:" => Some("Removed"),
                _ => None,
            };
            continue;
        }
        if let Some(action) = section {
            results.extend(line.split_whitespace().map(|p| format!("{action}: {p}")));
        }
    }
    let mut result = with_output(response("", results), r);
    result.changed = true;
    result
}

/// An install followed by an upgrade: one result.
fn merge(first: ModuleResult, second: ModuleResult) -> ModuleResult {
    if second.failed || !first.changed {
        return second;
    }
    let mut merged = first;
    if let (Some(Value::Array(a)), Some(Value::Array(b))) = (
        merged.data.get("results").cloned(),
        second.data.get("results"),
    ) {
        let all: Vec<Value> = a.into_iter().chain(b.iter().cloned()).collect();
        merged.data.insert("results".into(), Value::Array(all));
    }
    merged.changed |= second.changed;
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const DNF: Dnf = Dnf::DNF;
    const INSTALLED_OUT: &str = "Dependencies resolved.\n...\nInstalled:\n  hello-2.10-1.el9.x86_64   sl-5.02-1.el9.x86_64\n\nComplete!\n";

    #[test]
    fn installs_what_rpm_does_not_know_and_reports_it() {
        let conn = FakeConnection::new()
            .on(
                "^rpm -q bash hello sl$",
                2,
                "bash-5.1-1.x86_64\npackage hello is not installed\npackage sl is not installed\n",
            )
            .on(
                "^rpm -q --whatprovides hello sl$",
                1,
                "no package provides hello\nno package provides sl\n",
            )
            .on("^dnf -y install hello sl$", 0, INSTALLED_OUT);
        let mut h = Harness::fake(conn);
        let r = h.run(&DNF, json!({"name": ["bash", "hello", "sl"]}));
        assert!(r.changed);
        assert_eq!(
            r.data["results"],
            json!([
                "Installed: hello-2.10-1.el9.x86_64",
                "Installed: sl-5.02-1.el9.x86_64"
            ])
        );
        assert_eq!(h.conn.ran("^dnf").len(), 1);
    }

    #[test]
    fn installed_packages_and_provides_are_left_alone() {
        let conn = FakeConnection::new()
            .on(
                "^rpm -q bash /usr/bin/env$",
                1,
                "bash-5.1-1.x86_64\npackage /usr/bin/env is not installed\n",
            )
            .on(
                "^rpm -q --whatprovides /usr/bin/env$",
                0,
                "coreutils-8.32-1.x86_64\n",
            );
        let mut h = Harness::fake(conn);
        let r = h.run(
            &DNF,
            json!({"name": "bash,/usr/bin/env", "state": "present"}),
        );
        assert!(!r.changed);
        assert_eq!(r.msg.as_deref(), Some("Nothing to do"));
        assert!(h.conn.ran("^dnf").is_empty());
    }

    #[test]
    fn the_old_action_form_with_pkg_and_repo_options() {
        let conn = FakeConnection::new()
            .on("^rpm -q hello$", 1, "package hello is not installed\n")
            .on("--whatprovides", 1, "no package provides hello\n");
        let mut h = Harness::fake(conn);
        let args = crate::playbook::kv::parse_kv(
            "pkg=hello state=installed enablerepo=epel disablerepo=* disable_gpg_check=yes",
            false,
        );
        let r = h.run(&Dnf::YUM, Value::Object(args));
        assert!(r.changed);
        assert_eq!(
            h.conn.ran("^dnf -y"),
            ["dnf -y '--disablerepo=*' '--enablerepo=epel' --nogpgcheck install hello"]
        );
    }

    #[test]
    fn yum_uses_yum_where_there_is_no_dnf() {
        let conn = FakeConnection::new()
            .on("sh dnf$", 1, "")
            .on("^rpm -q hello$", 1, "package hello is not installed\n")
            .on("--whatprovides", 1, "no package provides hello\n");
        let mut h = Harness::fake(conn);
        h.run(&Dnf::YUM, json!({"name": "hello"}));
        assert_eq!(h.conn.ran("^yum -y install hello$").len(), 1);
    }

    #[test]
    fn removes_only_installed_packages() {
        let conn = FakeConnection::new()
            .on(
                "^rpm -q hello sl$",
                1,
                "hello-2.10-1.x86_64\npackage sl is not installed\n",
            )
            .on("^rpm -q --whatprovides sl$", 1, "no package provides sl\n")
            .on(
                "^dnf -y remove hello$",
                0,
                "Removed:\n  hello-2.10-1.x86_64\n\nComplete!\n",
            );
        let mut h = Harness::fake(conn);
        let r = h.run(&DNF, json!({"name": ["hello", "sl"], "state": "removed"}));
        assert!(r.changed);
        assert_eq!(r.data["results"], json!(["Removed: hello-2.10-1.x86_64"]));

        let conn = FakeConnection::new()
            .on("^rpm -q hello$", 1, "package hello is not installed\n")
            .on("^rpm -q --whatprovides", 1, "no package provides hello\n");
        let mut h = Harness::fake(conn);
        assert!(
            !h.run(&DNF, json!({"name": "hello", "state": "absent"}))
                .changed
        );
        assert!(h.conn.ran("^dnf").is_empty());
    }

    #[test]
    fn latest_asks_check_update_first() {
        let conn = FakeConnection::new()
            .on("^rpm -q hello$", 0, "hello-2.10-1.x86_64\n")
            .on("check-update hello$", 0, "");
        let mut h = Harness::fake(conn);
        assert!(
            !h.run(&DNF, json!({"name": "hello", "state": "latest"}))
                .changed
        );
        assert!(h.conn.ran("upgrade").is_empty());

        let conn = FakeConnection::new()
            .on("^rpm -q hello$", 0, "hello-2.10-1.x86_64\n")
            .on("check-update hello$", 100, "hello.x86_64 2.12-1 updates\n")
            .on(
                "upgrade hello$",
                0,
                "Upgraded:\n  hello-2.12-1.x86_64\nComplete!\n",
            );
        let mut h = Harness::fake(conn);
        let r = h.run(&DNF, json!({"name": "hello", "state": "latest"}));
        assert!(r.changed);
        assert_eq!(r.data["results"], json!(["Installed: hello-2.12-1.x86_64"]));
    }

    #[test]
    fn star_latest_upgrades_everything() {
        let conn = FakeConnection::new().on("check-update$", 100, "x\n").on(
            "^dnf -y upgrade$",
            0,
            "Upgraded:\n  a-1-1.x86_64\n",
        );
        let mut h = Harness::fake(conn);
        assert!(h.run(&DNF, json!({"name": "*", "state": "latest"})).changed);
    }

    #[test]
    fn check_mode_decides_without_running_dnf() {
        let conn = FakeConnection::new()
            .on("^rpm -q hello$", 1, "package hello is not installed\n")
            .on("--whatprovides", 1, "no package provides hello\n");
        let mut h = Harness::fake(conn).check();
        let r = h.run(&DNF, json!({"name": "hello"}));
        assert!(r.changed);
        assert!(h.conn.ran("^dnf").is_empty());
        assert_eq!(r.data["results"], json!(["Installed: hello"]));
    }

    #[test]
    fn groups_are_left_to_dnf_and_nothing_to_do_is_unchanged() {
        let conn = FakeConnection::new().on("install @core$", 0, "Nothing to do.\nComplete!\n");
        let mut h = Harness::fake(conn);
        let r = h.run(&DNF, json!({"name": "@core"}));
        assert!(!r.changed);
        assert!(h.conn.ran("^rpm").is_empty());
    }

    #[test]
    fn rpm_files_are_queried_for_the_package_inside() {
        let conn = FakeConnection::new()
            .on("^rpm -qp", 0, "hello-2.10-1.x86_64")
            .on("^rpm -q hello-2.10-1.x86_64$", 0, "hello-2.10-1.x86_64\n");
        let mut h = Harness::fake(conn);
        assert!(!h.run(&DNF, json!({"name": "/tmp/hello.rpm"})).changed);
    }

    #[test]
    fn a_host_without_rpm_is_an_error_not_an_installed_package() {
        let mut h = Harness::fake(FakeConnection::new().on("^rpm", 127, ""));
        let err = h.try_run(&DNF, json!({"name": "hello"})).unwrap_err();
        assert!(err.starts_with("'rpm -q hello' failed"), "{err}");
    }

    #[test]
    fn update_cache_alone_and_failures() {
        let mut h = Harness::fake(FakeConnection::new());
        let r = h.run(&DNF, json!({"update_cache": true}));
        assert!(!r.changed);
        assert_eq!(r.msg.as_deref(), Some("Cache updated"));
        assert_eq!(h.conn.ran("^dnf -y makecache$").len(), 1);

        let conn = FakeConnection::new()
            .on("^rpm -q", 1, "package nosuch is not installed\n")
            .on("--whatprovides", 1, "no package provides nosuch\n")
            .on("^dnf", 1, "Error: Unable to find a match: nosuch\n");
        let mut h = Harness::fake(conn);
        let r = h.run(&DNF, json!({"name": "nosuch"}));
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Failed to install some of the specified packages")
        );
        assert_eq!(
            r.data["failures"],
            json!(["Error: Unable to find a match: nosuch"])
        );
    }
}
