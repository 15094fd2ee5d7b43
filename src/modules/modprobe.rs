//! `modprobe` (`community.general.modprobe`): load or unload a kernel module, and
//! with `persistent` keep it loaded at boot (`/etc/modules-load.d/NAME.conf`, its
//! `params` as `options` lines in `/etc/modprobe.d/NAME.conf`) or stop that (the
//! lines that load it are commented out).
//!
//! Whether a module is loaded comes from the host's `/proc/modules` and
//! `/lib/modules/$(uname -r)/modules.builtin`. Returns `name`, `params`, `state`.
//!
//! Differs on purpose: Ansible's module edits the persistence files even in check
//! mode, and doubles the line breaks of a file it comments lines out of; srplay does
//! neither. A host without `modules.builtin` (a container) counts as having no
//! built-in modules, where Ansible fails.

use regex::Regex;

use crate::connection::{Connection, FileAttrs};
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Modprobe;

const MODULES_LOAD_DIR: &str = "/etc/modules-load.d";
const OPTIONS_DIR: &str = "/etc/modprobe.d";

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).required(),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("params", Kind::Str).default(""),
    Param::new("persistent", Kind::Str)
        .default("disabled")
        .choices(&["disabled", "present", "absent"]),
]);

impl Module for Modprobe {
    fn name(&self) -> &'static str {
        "modprobe"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let name = args.str("name").unwrap_or_default().to_string();
        let params = args.str("params").unwrap_or_default().to_string();
        let state = args.str("state").unwrap_or("present");
        let m = KernelModule::new(&name, &params)?;
        let mut result = ModuleResult::ok()
            .with("name", name.clone())
            .with("params", params.clone())
            .with("state", state);
        // A host that cannot say (no /proc/modules) fails the task with its parameters
        // echoed, as Ansible's does.
        let loaded = match m.loaded(ctx.conn) {
            Ok(loaded) => loaded,
            Err(msg) => {
                result.failed = true;
                return Ok(result.with_msg(msg));
            }
        };
        let check = if ctx.check_mode { vec!["-n"] } else { vec![] };
        let modprobe = |extra: &[&str]| -> Vec<String> {
            let mut argv = vec!["modprobe".to_string()];
            argv.extend(extra.iter().map(|s| s.to_string()));
            argv
        };
        let run = match (state, loaded) {
            ("present", false) => {
                let split = shlex::split(&params)
                    .ok_or_else(|| format!("cannot parse params: {params}"))?;
                let mut argv = modprobe(&check);
                argv.push(name.clone());
                argv.extend(split);
                Some(argv)
            }
            ("absent", true) => {
                let mut argv = modprobe(&["-r", &name]);
                argv.extend(check.iter().map(|s| s.to_string()));
                Some(argv)
            }
            _ => None,
        };
        if let Some(argv) = run {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let ran = remote::run(ctx.conn, &argv)?;
            if !ran.ok() {
                result = result
                    .with("rc", ran.rc)
                    .with("stdout", ran.stdout.clone())
                    .with("stderr", ran.stderr.clone());
                result.failed = true;
                result.msg = Some(ran.stderr);
                return Ok(result);
            }
            result.changed = ctx.check_mode || state == "absent" || m.loaded(ctx.conn)?;
        }
        result.changed |= match args.str("persistent") {
            Some("present") => m.persist(ctx.conn, ctx.check_mode)?,
            Some("absent") => m.unpersist(ctx.conn, ctx.check_mode)?,
            _ => false,
        };
        Ok(result)
    }
}

struct KernelModule<'a> {
    name: &'a str,
    params: &'a str,
    /// A line of a modules-load.d file that loads it.
    load_line: Regex,
    /// An `options NAME key=value` line, capturing `key=value`.
    options_line: Regex,
}

impl<'a> KernelModule<'a> {
    fn new(name: &'a str, params: &'a str) -> Result<KernelModule<'a>, String> {
        let name_re = regex::escape(name);
        let re = |pattern: String| Regex::new(&pattern).map_err(|e| e.to_string());
        Ok(KernelModule {
            name,
            params,
            load_line: re(format!(r"^ *{name_re} *(?:[#;].*)?$"))?,
            options_line: re(format!(r"^options {name_re} (\w+=\S+) *(?:[#;].*)?$"))?,
        })
    }

    fn loaded(&self, conn: &mut dyn Connection) -> Result<bool, String> {
        let proc = conn.read_file("/proc/modules")?;
        let prefix = format!("{} ", self.name.replace('-', "_"));
        if String::from_utf8_lossy(&proc)
            .lines()
            .any(|l| l.starts_with(&prefix))
        {
            return Ok(true);
        }
        let release = remote::run_ok(conn, &["uname", "-r"])?.stdout;
        let builtin = format!("/lib/modules/{}/modules.builtin", release.trim());
        let ko = format!("/{}.ko", self.name);
        Ok(conn.read_file(&builtin).is_ok_and(|data| {
            String::from_utf8_lossy(&data)
                .lines()
                .any(|l| l.trim_end().ends_with(&ko))
        }))
    }

    /// The regular files of a directory with their text (none when it is missing).
    fn files_in(conn: &mut dyn Connection, dir: &str) -> Result<Vec<(String, String)>, String> {
        if conn.stat(dir, true)?.is_none() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in conn.list_dir(dir)? {
            let path = format!("{dir}/{entry}");
            if conn
                .stat(&path, true)?
                .is_some_and(|st| st.kind == crate::connection::FileKind::File)
            {
                let text = String::from_utf8_lossy(&conn.read_file(&path)?).into_owned();
                out.push((path, text));
            }
        }
        Ok(out)
    }

    fn loaded_at_boot(&self, conn: &mut dyn Connection) -> Result<bool, String> {
        Ok(Self::files_in(conn, MODULES_LOAD_DIR)?
            .iter()
            .any(|(_, text)| text.lines().any(|l| self.load_line.is_match(l))))
    }

    fn boot_params(&self, conn: &mut dyn Connection) -> Result<Vec<String>, String> {
        let mut params: Vec<String> = Self::files_in(conn, OPTIONS_DIR)?
            .iter()
            .flat_map(|(_, text)| {
                text.lines()
                    .filter_map(|l| Some(self.options_line.captures(l)?[1].to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        params.sort();
        params.dedup();
        Ok(params)
    }

    fn wanted_params(&self) -> Vec<String> {
        let mut params: Vec<String> = self.params.split_whitespace().map(str::to_string).collect();
        params.sort();
        params.dedup();
        params
    }

    fn persist(&self, conn: &mut dyn Connection, check_mode: bool) -> Result<bool, String> {
        let mut changed = false;
        if !self.loaded_at_boot(conn)? {
            changed = true;
            if !check_mode {
                conn.mkdir_all(MODULES_LOAD_DIR, Some(0o755))?;
                let path = format!("{MODULES_LOAD_DIR}/{}.conf", self.name);
                conn.write_file(&path, format!("{}\n", self.name).as_bytes(), &new_file())?;
            }
        }
        if self.boot_params(conn)? != self.wanted_params() {
            changed = true;
            if !check_mode {
                self.comment_out(conn, OPTIONS_DIR, &self.options_line)?;
                conn.mkdir_all(OPTIONS_DIR, Some(0o755))?;
                let text: String = self
                    .params
                    .split_whitespace()
                    .map(|p| format!("options {} {p}\n", self.name))
                    .collect();
                let path = format!("{OPTIONS_DIR}/{}.conf", self.name);
                conn.write_file(&path, text.as_bytes(), &new_file())?;
            }
        }
        Ok(changed)
    }

    fn unpersist(&self, conn: &mut dyn Connection, check_mode: bool) -> Result<bool, String> {
        let mut changed = false;
        if self.loaded_at_boot(conn)? {
            changed = true;
            if !check_mode {
                self.comment_out(conn, MODULES_LOAD_DIR, &self.load_line)?;
            }
        }
        if !self.boot_params(conn)?.is_empty() {
            changed = true;
            if !check_mode {
                self.comment_out(conn, OPTIONS_DIR, &self.options_line)?;
            }
        }
        Ok(changed)
    }

    /// Prefix `#` to the lines matching `re` in the files of `dir`.
    fn comment_out(&self, conn: &mut dyn Connection, dir: &str, re: &Regex) -> Result<(), String> {
        for (path, text) in Self::files_in(conn, dir)? {
            if !text.lines().any(|l| re.is_match(l)) {
                continue;
            }
            let edited: String = text
                .split_inclusive('\n')
                .map(|l| {
                    if re.is_match(l.trim_end_matches('\n')) {
                        format!("#{l}")
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            conn.write_file(&path, edited.as_bytes(), &FileAttrs::default())?;
        }
        Ok(())
    }
}

fn new_file() -> FileAttrs {
    FileAttrs {
        mode: Some(0o644),
        ..FileAttrs::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    fn host(proc_modules: &str) -> FakeConnection {
        FakeConnection::new()
            .file("/proc/modules", proc_modules)
            .on("^uname -r", 0, "6.1.0\n")
            .file(
                "/lib/modules/6.1.0/modules.builtin",
                "kernel/fs/ext4/ext4.ko\n",
            )
    }

    #[test]
    fn loads_with_params_when_missing() {
        let conn = host("")
            .on("^modprobe", 0, "")
            .writing("/proc/modules", "dummy 16384 0 - Live 0x0\n");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Modprobe,
            json!({"name": "dummy", "params": "numdummies=2"}),
        );
        assert_eq!(h.conn.ran("^modprobe"), ["modprobe dummy 'numdummies=2'"]);
        assert!(r.changed);
        assert_eq!(r.data["params"], json!("numdummies=2"));
        assert!(!h.run(&Modprobe, json!({"name": "dummy"})).changed);
    }

    #[test]
    fn loaded_and_builtin_modules_are_left_alone() {
        let mut h = Harness::fake(host("br_netfilter 32768 0 - Live 0x0\n"));
        assert!(!h.run(&Modprobe, json!({"name": "br-netfilter"})).changed);
        assert!(!h.run(&Modprobe, json!({"name": "ext4"})).changed);
        assert!(h.conn.ran("^modprobe").is_empty());
    }

    #[test]
    fn unload_in_check_mode_asks_modprobe_for_a_dry_run() {
        let mut h = Harness::fake(host("dummy 16384 0 - Live 0x0\n")).check();
        let r = h.run(&Modprobe, json!({"name": "dummy", "state": "absent"}));
        assert!(r.changed);
        assert_eq!(h.conn.ran("^modprobe"), ["modprobe -r dummy -n"]);
    }

    #[test]
    fn persistence_writes_then_comments_out() {
        let conn = host("dummy 16384 0 - Live 0x0\n").file(
            "/etc/modprobe.d/old.conf",
            "options dummy numdummies=1\nblacklist x\n",
        );
        let mut h = Harness::fake(conn);
        let args = json!({"name": "dummy", "params": "numdummies=2", "persistent": "present"});
        assert!(h.run(&Modprobe, args.clone()).changed);
        assert_eq!(
            h.conn.read_file("/etc/modules-load.d/dummy.conf").unwrap(),
            b"dummy\n"
        );
        assert_eq!(
            h.conn.read_file("/etc/modprobe.d/dummy.conf").unwrap(),
            b"options dummy numdummies=2\n"
        );
        assert_eq!(
            h.conn.read_file("/etc/modprobe.d/old.conf").unwrap(),
            b"#options dummy numdummies=1\nblacklist x\n"
        );
        assert!(!h.run(&Modprobe, args).changed);
        let r = h.run(&Modprobe, json!({"name": "dummy", "persistent": "absent"}));
        assert!(r.changed);
        assert_eq!(
            h.conn.read_file("/etc/modules-load.d/dummy.conf").unwrap(),
            b"#dummy\n"
        );
    }
}
