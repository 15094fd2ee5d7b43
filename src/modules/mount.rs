//! `mount` (`ansible.posix.mount`): a filesystem in fstab and in the mount table.
//!
//! `present` / `absent_from_fstab` edit only fstab; `mounted` also creates the mount
//! point and mounts (or remounts, when its fstab line changed); `unmounted` unmounts;
//! `absent` removes the line, unmounts and removes the mount point; `remounted`
//! remounts. Mounting goes through fstab (`mount [-T FSTAB] PATH`), as Ansible's does.
//! Whether a path is mounted comes from the host's `/proc/self/mountinfo`. Returns
//! the entry's fields (`name`, `src`, `fstype`, `opts`, `dump`, `passno`, `fstab`,
//! `boot`), as Ansible.
//!
//! Not supported: `ephemeral`, `opts_no_log`, non-Linux hosts.

use std::cell::RefCell;

use crate::connection::{Connection, FileAttrs};
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param, content,
};

pub struct Mount;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("path", Kind::Path).required().aliases(&["name"]),
    Param::new("src", Kind::Path),
    Param::new("fstype", Kind::Str),
    Param::new("opts", Kind::Str),
    Param::new("dump", Kind::Str).default("0"),
    Param::new("passno", Kind::Str).default("0"),
    Param::new("state", Kind::Str).required().choices(&[
        "absent",
        "absent_from_fstab",
        "mounted",
        "present",
        "unmounted",
        "remounted",
    ]),
    Param::new("fstab", Kind::Str).default("/etc/fstab"),
    Param::new("boot", Kind::Bool).default("yes"),
    Param::new("backup", Kind::Bool).default("no"),
]);

/// One fstab entry, as the module wants it.
struct Entry {
    src: String,
    path: String,
    fstype: String,
    opts: String,
    dump: String,
    passno: String,
}

impl Entry {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            escape(&self.src),
            escape(&self.path),
            escape(&self.fstype),
            escape(&self.opts),
            self.dump,
            self.passno
        )
    }

    fn matches(&self, fields: &[&str]) -> bool {
        fields.len() >= 4
            && unescape(fields[0]) == self.src
            && unescape(fields[2]) == self.fstype
            && unescape(fields[3]) == self.opts
            && fields.get(4).copied().unwrap_or("0") == self.dump
            && fields.get(5).copied().unwrap_or("0") == self.passno
    }
}

/// fstab and mountinfo write a space as `\040` (and tab, newline, backslash likewise).
fn escape(s: &str) -> String {
    s.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012")
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

impl Module for Mount {
    fn name(&self) -> &'static str {
        "mount"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let state = args.str("state").unwrap_or_default();
        let path = args.str("path").unwrap_or_default();
        let path = match path.trim_end_matches('/') {
            "" => "/",
            p => p,
        }
        .to_string();
        let fstab = args.str("fstab").unwrap_or("/etc/fstab").to_string();
        let mut opts = args.str("opts").unwrap_or("defaults").to_string();
        if !args.bool("boot") {
            opts = match opts.as_str() {
                "defaults" => "noauto".to_string(),
                o if o.split(',').any(|x| x == "noauto") => o.to_string(),
                o => format!("{o},noauto"),
            };
        }
        let entry = Entry {
            src: args.str("src").unwrap_or_default().to_string(),
            path: path.clone(),
            fstype: args.str("fstype").unwrap_or_default().to_string(),
            opts,
            dump: args.str("dump").unwrap_or("0").to_string(),
            passno: args.str("passno").unwrap_or("0").to_string(),
        };
        if matches!(state, "present" | "mounted")
            && (entry.src.is_empty() || entry.fstype.is_empty())
        {
            let missing: Vec<&str> = [("src", &entry.src), ("fstype", &entry.fstype)]
                .iter()
                .filter(|(_, v)| v.is_empty())
                .map(|(k, _)| *k)
                .collect();
            return Ok(ModuleResult::failed(format!(
                "state is {state} but all of the following are missing: {}",
                missing.join(", ")
            )));
        }
        let mut result = ModuleResult::ok().with("name", path.clone());
        // `src` and `fstype` are echoed only when given, as Ansible's module does.
        for key in ["src", "fstype"] {
            if let Some(value) = args.str(key) {
                result = result.with(key, value);
            }
        }
        let mut result = result
            .with("opts", entry.opts.clone())
            .with("dump", entry.dump.clone())
            .with("passno", entry.passno.clone())
            .with("fstab", fstab.clone())
            // Ansible's module echoes `boot` as the word, not the boolean.
            .with("boot", if args.bool("boot") { "yes" } else { "no" });
        let table = Fstab {
            path: &fstab,
            backup: args.bool("backup"),
            check_mode: ctx.check_mode,
            backup_file: RefCell::new(String::new()),
        };
        let outcome = apply(ctx.conn, state, &table, &entry, ctx.check_mode);
        match outcome {
            Ok(changed) => result.changed = changed,
            Err(msg) => {
                result.failed = true;
                result.msg = Some(msg);
            }
        }
        Ok(result.with("backup_file", table.backup_file.take()))
    }
}

/// Bring the mount to `state`: whether anything changed, or why it failed.
fn apply(
    conn: &mut dyn Connection,
    state: &str,
    table: &Fstab<'_>,
    entry: &Entry,
    check: bool,
) -> Result<bool, String> {
    let path = entry.path.as_str();
    let fstab = table.path;
    match state {
        "present" => table.set(conn, entry),
        "absent_from_fstab" => table.unset(conn, path),
        "absent" => {
            let changed = table.unset(conn, path)?;
            if changed && !check {
                if is_mounted(conn, path)? {
                    command(conn, &["umount", path], "Error unmounting")?;
                }
                if conn.stat(path, false)?.is_some() {
                    command(conn, &["rmdir", "--", path], "Error rmdir")?;
                }
            }
            Ok(changed)
        }
        "unmounted" => {
            let mounted = is_mounted(conn, path)?;
            if mounted && !check {
                command(conn, &["umount", path], "Error unmounting")?;
            }
            Ok(mounted)
        }
        "mounted" => {
            if !check && conn.stat(path, true)?.is_none() {
                conn.mkdir_all(path, Some(0o755))?;
            }
            let line_changed = table.set(conn, entry)?;
            if is_mounted(conn, path)? {
                if line_changed && !check {
                    remount(conn, fstab, path)?;
                }
                Ok(line_changed)
            } else {
                if !check {
                    command(conn, &mount_argv(fstab, path, &[]), "Error mounting")?;
                }
                Ok(true)
            }
        }
        _ => {
            if !check {
                remount(conn, fstab, path)?;
            }
            Ok(true)
        }
    }
}

fn mount_argv<'a>(fstab: &'a str, path: &'a str, options: &[&'a str]) -> Vec<&'a str> {
    let mut argv = vec!["mount"];
    argv.extend(options);
    if fstab != "/etc/fstab" {
        argv.extend(["-T", fstab]);
    }
    argv.push(path);
    argv
}

/// Remount in place; if the filesystem refuses, unmount and mount again.
fn remount(conn: &mut dyn Connection, fstab: &str, path: &str) -> Result<(), String> {
    let ran = remote::run(conn, &mount_argv(fstab, path, &["-o", "remount"]))?;
    if ran.ok() {
        return Ok(());
    }
    command(conn, &["umount", path], "Error unmounting")?;
    command(conn, &mount_argv(fstab, path, &[]), "Error mounting")
}

/// Run a mount command; a failure is `"{what} {path}: {message}"`, as Ansible words it.
fn command(conn: &mut dyn Connection, argv: &[&str], what: &str) -> Result<(), String> {
    let ran = remote::run(conn, argv)?;
    if ran.ok() {
        return Ok(());
    }
    let path = argv.last().copied().unwrap_or_default();
    Err(format!("{what} {path}: {}{}", ran.stdout, ran.stderr))
}

/// Whether `path` is a mount point, from the 5th field of `/proc/self/mountinfo`.
fn is_mounted(conn: &mut dyn Connection, path: &str) -> Result<bool, String> {
    let info = conn.read_file("/proc/self/mountinfo")?;
    Ok(String::from_utf8_lossy(&info)
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mount_point| unescape(mount_point) == path))
}

struct Fstab<'a> {
    path: &'a str,
    backup: bool,
    check_mode: bool,
    /// Where `backup` copied the file before a write ("" when none): a return value.
    backup_file: RefCell<String>,
}

impl Fstab<'_> {
    fn read(&self, conn: &mut dyn Connection) -> Result<String, String> {
        Ok(match conn.stat(self.path, true)? {
            Some(_) => String::from_utf8_lossy(&conn.read_file(self.path)?).into_owned(),
            None => String::new(),
        })
    }

    /// The lines of the file with the entry for `path` replaced (`Some`) or dropped.
    fn edit(text: &str, path: &str, new: Option<&Entry>) -> (String, bool) {
        let mut out = String::new();
        let mut found = false;
        let mut changed = false;
        for line in text.split_inclusive('\n') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let is_entry = !line.trim_start().starts_with('#')
                && fields.get(1).is_some_and(|p| unescape(p) == path);
            if !is_entry {
                out.push_str(line);
                continue;
            }
            found = true;
            match new {
                Some(entry) if entry.matches(&fields) => out.push_str(line),
                Some(entry) => {
                    out.push_str(&entry.line());
                    out.push('\n');
                    changed = true;
                }
                None => changed = true,
            }
        }
        if let (false, Some(entry)) = (found, new) {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&entry.line());
            out.push('\n');
            changed = true;
        }
        (out, changed)
    }

    fn write(&self, conn: &mut dyn Connection, before: &str, after: &str) -> Result<(), String> {
        if self.check_mode {
            return Ok(());
        }
        if self.backup && !before.is_empty() {
            let backup = content::backup_name(self.path);
            remote::run_ok(conn, &["cp", "-p", "--", self.path, &backup])?;
            self.backup_file.replace(backup);
        }
        // A replaced fstab keeps its attributes; a new one gets the connection's default.
        conn.write_file(self.path, after.as_bytes(), &FileAttrs::default())?;
        Ok(())
    }

    fn set(&self, conn: &mut dyn Connection, entry: &Entry) -> Result<bool, String> {
        let before = self.read(conn)?;
        let (after, changed) = Self::edit(&before, &entry.path, Some(entry));
        if changed {
            self.write(conn, &before, &after)?;
        }
        Ok(changed)
    }

    fn unset(&self, conn: &mut dyn Connection, path: &str) -> Result<bool, String> {
        let before = self.read(conn)?;
        let (after, changed) = Self::edit(&before, path, None);
        if changed {
            self.write(conn, &before, &after)?;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const FSTAB: &str = "/etc/fstab";
    const MOUNTINFO: &str = "/proc/self/mountinfo";
    const ROOT_ONLY: &str = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";

    fn data_args(state: &str) -> serde_json::Value {
        json!({"path": "/srv/my data", "src": "/dev/sdb1", "fstype": "xfs", "opts": "noatime", "state": state})
    }

    #[test]
    fn mounted_adds_the_line_creates_the_dir_and_mounts() {
        let conn = FakeConnection::new()
            .file(FSTAB, "# static\n/dev/sda1 / ext4 defaults 0 1\n")
            .file(MOUNTINFO, ROOT_ONLY);
        let mut h = Harness::fake(conn);
        let r = h.run(&Mount, data_args("mounted"));
        assert!(r.changed);
        assert_eq!(
            String::from_utf8(h.conn.read_file(FSTAB).unwrap()).unwrap(),
            "# static\n/dev/sda1 / ext4 defaults 0 1\n/dev/sdb1 /srv/my\\040data xfs noatime 0 0\n"
        );
        assert!(h.conn.dirs.contains(&"/srv/my data".to_string()));
        assert_eq!(h.conn.ran("^mount"), ["mount '/srv/my data'"]);
        assert_eq!(r.data["opts"], json!("noatime"));
    }

    #[test]
    fn a_mounted_filesystem_with_its_line_is_left_alone_and_a_changed_line_remounts() {
        let mounted = format!("{ROOT_ONLY}40 22 8:17 / /srv/my\\040data rw - xfs /dev/sdb1 rw\n");
        let conn = FakeConnection::new()
            .file(FSTAB, "/dev/sdb1 /srv/my\\040data xfs noatime 0 0\n")
            .file(MOUNTINFO, &mounted)
            .dir("/srv/my data");
        let mut h = Harness::fake(conn);
        assert!(!h.run(&Mount, data_args("mounted")).changed);
        assert!(h.conn.ran("mount").is_empty());
        let mut args = data_args("mounted");
        args["opts"] = json!("noatime,ro");
        assert!(h.run(&Mount, args).changed);
        assert_eq!(h.conn.ran("^mount"), ["mount -o remount '/srv/my data'"]);
    }

    #[test]
    fn absent_removes_the_line_unmounts_and_removes_the_dir() {
        let conn = FakeConnection::new()
            .file(FSTAB, "/dev/sdb1 /mnt/x xfs defaults 0 0\n")
            .file(MOUNTINFO, "40 22 8:17 / /mnt/x rw - xfs /dev/sdb1 rw\n")
            .dir("/mnt/x");
        let mut h = Harness::fake(conn);
        let r = h.run(&Mount, json!({"path": "/mnt/x/", "state": "absent"}));
        assert!(r.changed);
        assert_eq!(h.conn.read_file(FSTAB).unwrap(), b"");
        assert_eq!(
            h.conn.ran("^(umount|rmdir)"),
            ["umount /mnt/x", "rmdir -- /mnt/x"]
        );
    }

    #[test]
    fn check_mode_changes_nothing_and_a_custom_fstab_is_passed_to_mount() {
        let conn = FakeConnection::new().file(MOUNTINFO, ROOT_ONLY);
        let mut h = Harness::fake(conn).check();
        let r = h.run(
            &Mount,
            json!({"path": "/mnt/t", "src": "tmpfs", "fstype": "tmpfs", "state": "mounted", "fstab": "/tmp/tab", "boot": false}),
        );
        assert!(r.changed);
        assert_eq!(r.data["opts"], json!("noauto"));
        assert!(!h.conn.files.contains_key("/tmp/tab") && h.conn.log.is_empty());
        h.check_mode = false;
        h.run(&Mount, json!({"path": "/mnt/t", "src": "tmpfs", "fstype": "tmpfs", "state": "mounted", "fstab": "/tmp/tab"}));
        assert_eq!(h.conn.ran("^mount"), ["mount -T /tmp/tab /mnt/t"]);
    }

    #[test]
    fn a_failed_mount_says_why() {
        let conn = FakeConnection::new().file(MOUNTINFO, ROOT_ONLY).on(
            "^mount",
            32,
            "mount: wrong fs type",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(&Mount, data_args("mounted"));
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Error mounting /srv/my data: mount: wrong fs type")
        );
    }
}
