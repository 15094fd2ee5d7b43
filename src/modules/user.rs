//! `user`: a local account, by the host's `useradd`, `usermod` and `userdel`, with
//! Ansible's decisions: which `usermod` flags a difference calls for (uid, primary
//! group, supplementary groups with or without `append`, comment, home with
//! `move_home`, shell, password hash and lock), `-N` when a group named like the user
//! exists, a missing home created from the skeleton. Returns Ansible's keys (`uid`,
//! `group`, `home`, `shell`, `comment`, `groups`, `append`/`move_home` or
//! `system`/`create_home`, `force`/`remove` on removal); a password shows as
//! `NOT_LOGGING_PASSWORD`. Check mode decides without running anything.
//!
//! Not supported: SSH key generation (`generate_ssh_key` and its options), `expires`,
//! `password_expire_*`, `inactive`, `local`, `seuser`, `login_class`, `hidden`,
//! `profile`/`authorization`/`role`, non-Linux hosts.

use std::collections::BTreeSet;

use crate::connection::{Connection, FileAttrs};
use crate::modules::accounts::{self, Passwd};
use crate::modules::group::{command_failure, with_output};
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct User;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).required().aliases(&["user"]),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("uid", Kind::Int),
    Param::new("non_unique", Kind::Bool).default("no"),
    Param::new("group", Kind::Str),
    Param::new("groups", Kind::List),
    Param::new("append", Kind::Bool).default("no"),
    Param::new("comment", Kind::Str),
    Param::new("home", Kind::Path),
    Param::new("shell", Kind::Path),
    Param::new("password", Kind::Str),
    Param::new("update_password", Kind::Str)
        .default("always")
        .choices(&["always", "on_create"]),
    Param::new("password_lock", Kind::Bool),
    Param::new("create_home", Kind::Bool)
        .default("yes")
        .aliases(&["createhome"]),
    Param::new("skeleton", Kind::Str),
    Param::new("umask", Kind::Str),
    Param::new("system", Kind::Bool).default("no"),
    Param::new("move_home", Kind::Bool).default("no"),
    Param::new("force", Kind::Bool).default("no"),
    Param::new("remove", Kind::Bool).default("no"),
    Param::new("uid_min", Kind::Int),
    Param::new("uid_max", Kind::Int),
]);

impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let name = args.str("name").unwrap_or_default().to_string();
        let present = args.str("state") == Some("present");
        let existing = accounts::passwd(ctx.conn, &name)?;
        let mut result = ModuleResult::ok()
            .with("name", name.clone())
            .with("state", if present { "present" } else { "absent" });
        if !present {
            if existing.is_none() {
                return Ok(result);
            }
            if ctx.check_mode {
                return Ok(ModuleResult::changed(true));
            }
            let mut argv = vec!["userdel"];
            if args.bool("force") {
                argv.push("-f");
            }
            if args.bool("remove") {
                argv.push("-r");
            }
            argv.push(&name);
            let ran = remote::run(ctx.conn, &argv)?;
            if let Some(failed) = command_failure(&ran, &name) {
                return Ok(failed);
            }
            result = with_output(result, &ran)
                .with("force", args.bool("force"))
                .with("remove", args.bool("remove"));
            result.changed = true;
            return Ok(result);
        }
        let argv = match &existing {
            None => {
                if ctx.check_mode {
                    return Ok(ModuleResult::changed(true));
                }
                result = result
                    .with("system", args.bool("system"))
                    .with("create_home", args.bool("create_home"));
                useradd(ctx.conn, args, &name)?
            }
            Some(info) => {
                result = result
                    .with("append", args.bool("append"))
                    .with("move_home", args.bool("move_home"));
                usermod(ctx.conn, args, info)?
            }
        };
        let argv = match argv {
            Ok(argv) => argv,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        if !argv.is_empty() {
            result.changed = true;
            if !ctx.check_mode {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                let ran = remote::run(ctx.conn, &argv)?;
                if let Some(failed) = command_failure(&ran, &name) {
                    return Ok(failed);
                }
                result = with_output(result, &ran);
            }
        }
        if args.get("password").is_some() {
            result = result.with("password", "NOT_LOGGING_PASSWORD");
        }
        let Some(info) = accounts::passwd(ctx.conn, &name)? else {
            // Only in check mode can a user that should exist still be missing.
            return Ok(result);
        };
        result = result
            .with("uid", info.uid)
            .with("group", info.gid)
            .with("comment", info.gecos.clone())
            .with("home", info.home.clone())
            .with("shell", info.shell.clone());
        if args.get("groups").is_some() {
            result = result.with("groups", args.list("groups").join(","));
        }
        let home = args.str("home").unwrap_or(&info.home).to_string();
        if args.bool("create_home") && ctx.conn.stat(&home, false)?.is_none() {
            if !ctx.check_mode {
                create_home_dir(ctx.conn, &home, &info, args.str("skeleton"))?;
            }
            result.changed = true;
        }
        Ok(result)
    }
}

/// The wanted password, locked (`!` prefix) when `password_lock` says so.
fn password_arg(args: &Args) -> Option<String> {
    let password = args.str("password")?;
    Some(
        match args.get("password_lock").and_then(crate::value::to_bool) {
            Some(true) => format!("!{password}"),
            _ => password.to_string(),
        },
    )
}

/// The `useradd` command for a new user, or why it cannot be made.
fn useradd(
    conn: &mut dyn Connection,
    args: &Args,
    name: &str,
) -> Result<Result<Vec<String>, String>, String> {
    let mut argv: Vec<String> = vec!["useradd".into()];
    let mut push = |items: &[&str]| argv.extend(items.iter().map(|s| s.to_string()));
    if let Some(uid) = args.int("uid") {
        push(&["-u", &uid.to_string()]);
        if args.bool("non_unique") {
            push(&["-o"]);
        }
    }
    if let Some(group) = args.str("group") {
        if accounts::group(conn, group)?.is_none() {
            return Ok(Err(format!("Group {group} does not exist")));
        }
        push(&["-g", group]);
    } else if accounts::group(conn, name)?.is_some() {
        // A group named like the user exists: useradd must not try to create it.
        push(&["-N"]);
    }
    let groups = args.list("groups");
    if !groups.is_empty() {
        for g in &groups {
            if accounts::group(conn, g)?.is_none() {
                return Ok(Err(format!("Group {g} does not exist")));
            }
        }
        push(&["-G", &groups.join(",")]);
    }
    if let Some(comment) = args.str("comment") {
        push(&["-c", comment]);
    }
    if let Some(home) = args.str("home") {
        if args.bool("create_home") {
            let parent = crate::modules::files::parent_dir(home);
            if conn.stat(&parent, true)?.is_none() {
                conn.mkdir_all(&parent, Some(0o755))?;
            }
        }
        push(&["-d", home]);
    }
    if let Some(shell) = args.str("shell") {
        push(&["-s", shell]);
    }
    if let Some(password) = password_arg(args) {
        push(&["-p", &password]);
    }
    if args.bool("create_home") {
        push(&["-m"]);
        if let Some(skel) = args.str("skeleton") {
            push(&["-k", skel]);
        }
        if let Some(umask) = args.str("umask") {
            push(&["-K", &format!("UMASK={umask}")]);
        }
    } else {
        push(&["-M"]);
    }
    if args.bool("system") {
        push(&["-r"]);
    }
    for (param, key) in [("uid_min", "UID_MIN"), ("uid_max", "UID_MAX")] {
        if let Some(v) = args.int(param) {
            push(&["-K", &format!("{key}={v}")]);
        }
    }
    push(&[name]);
    Ok(Ok(argv))
}

/// The `usermod` command that brings an existing user to the parameters; empty when
/// nothing differs.
fn usermod(
    conn: &mut dyn Connection,
    args: &Args,
    info: &Passwd,
) -> Result<Result<Vec<String>, String>, String> {
    let mut flags: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| flags.extend(items.iter().map(|s| s.to_string()));
    if let Some(uid) = args.int("uid").filter(|u| *u != i64::from(info.uid)) {
        push(&["-u", &uid.to_string()]);
        if args.bool("non_unique") {
            push(&["-o"]);
        }
    }
    if let Some(group) = args.str("group") {
        let Some(g) = accounts::group(conn, group)? else {
            return Ok(Err(format!("Group {group} does not exist")));
        };
        if g.gid != info.gid {
            push(&["-g", &g.gid.to_string()]);
        }
    }
    if args.get("groups").is_some() {
        let append = args.bool("append");
        let current: BTreeSet<String> = accounts::all_groups(conn)?
            .into_iter()
            .filter(|g| g.members.contains(&info.name))
            .map(|g| g.name)
            .collect();
        let mut wanted = BTreeSet::new();
        for g in args.list("groups") {
            match accounts::group(conn, &g)? {
                Some(found) => wanted.insert(found.name),
                None => return Ok(Err(format!("Group {g} does not exist"))),
            };
        }
        let differs = current.symmetric_difference(&wanted).next().is_some();
        let needs_change = if append {
            !wanted.is_subset(&current)
        } else {
            differs
        };
        if needs_change {
            if append {
                push(&["-a"]);
            }
            let list: Vec<&str> = wanted.iter().map(String::as_str).collect();
            push(&["-G", &list.join(",")]);
        }
    }
    if let Some(comment) = args.str("comment").filter(|c| *c != info.gecos) {
        push(&["-c", comment]);
    }
    if let Some(home) = args.str("home").filter(|h| *h != info.home) {
        push(&["-d", home]);
        if args.bool("move_home") {
            push(&["-m"]);
        }
    }
    if let Some(shell) = args.str("shell").filter(|s| *s != info.shell) {
        push(&["-s", shell]);
    }
    let hash = if args.get("password_lock").is_some() || args.get("password").is_some() {
        accounts::password_hash(conn, &info.name)?
    } else {
        None
    };
    let locked = hash.as_deref().is_some_and(|h| h.starts_with('!'));
    match args.get("password_lock").and_then(crate::value::to_bool) {
        Some(true) if !locked => push(&["-L"]),
        Some(false) if locked => push(&["-U"]),
        _ => {}
    }
    if let Some(password) = args.str("password")
        && args.str("update_password") == Some("always")
        && hash.as_deref().map(|h| h.trim_start_matches('!'))
            != Some(password.trim_start_matches('!'))
    {
        // A new hash replaces a lock change: `-p` with `!` carries the lock itself.
        flags.retain(|f| f != "-L" && f != "-U");
        flags.push("-p".into());
        flags.push(password_arg(args).unwrap_or_default());
    }
    if flags.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let mut argv = vec!["usermod".to_string()];
    argv.extend(flags);
    argv.push(info.name.clone());
    Ok(Ok(argv))
}

/// A home directory for an existing user: the skeleton copied in, owned by the user,
/// with the mode `login.defs` gives (`HOME_MODE`, else from `UMASK`, else 0755).
fn create_home_dir(
    conn: &mut dyn Connection,
    home: &str,
    info: &Passwd,
    skeleton: Option<&str>,
) -> Result<(), String> {
    conn.mkdir_all(home, None)?;
    let skel = skeleton.unwrap_or("/etc/skel");
    if conn.stat(skel, true)?.is_some() {
        remote::run_ok(conn, &["cp", "-a", "--", &format!("{skel}/."), home])?;
    }
    let owner = format!("{}:{}", info.uid, info.gid);
    remote::run_ok(conn, &["chown", "-R", "--", &owner, home])?;
    let defs = conn
        .read_file("/etc/login.defs")
        .map(|d| String::from_utf8_lossy(&d).into_owned())
        .unwrap_or_default();
    let setting = |key: &str| {
        defs.lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .filter(|rest| rest.starts_with([' ', '\t']))
            .find_map(|rest| u32::from_str_radix(rest.trim(), 8).ok())
    };
    let mode = setting("HOME_MODE").unwrap_or(0o777 & !setting("UMASK").unwrap_or(0o022));
    let attrs = FileAttrs {
        mode: Some(mode),
        ..FileAttrs::default()
    };
    Ok(conn.set_attrs(home, &attrs, false)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const BOB: &str = "bob:x:1001:1001:Bob:/home/bob:/bin/sh\n";

    fn existing_bob() -> FakeConnection {
        FakeConnection::new()
            .on("^getent passwd bob", 0, BOB)
            .on(
                "^getent group$",
                0,
                "adm:x:4:bob\nusers:x:100:\nbob:x:1001:\n",
            )
            .on("^getent group adm", 0, "adm:x:4:bob\n")
            .on("^getent group users", 0, "users:x:100:\n")
            .on("^getent group bob", 0, "bob:x:1001:\n")
            .on("^getent group", 2, "")
            .dir("/home/bob")
    }

    #[test]
    fn a_new_user_gets_ansibles_useradd() {
        let conn = FakeConnection::new()
            .once("^getent passwd", 2, "")
            .on(
                "^getent passwd",
                0,
                "web:x:990:990:Web:/srv/web:/usr/sbin/nologin\n",
            )
            .on("^getent group web", 0, "web:x:990:\n")
            .on("^getent group adm", 0, "adm:x:4:\n")
            .dir("/srv/web");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &User,
            json!({"name": "web", "groups": "adm", "shell": "/usr/sbin/nologin", "home": "/srv/web",
                   "system": true, "password": "$6$x$y", "comment": "Web"}),
        );
        assert!(r.changed);
        assert_eq!(
            h.conn.ran("^useradd"),
            ["useradd -N -G adm -c Web -d /srv/web -s /usr/sbin/nologin -p '$6$x$y' -m -r web"]
        );
        assert_eq!(r.data["uid"], json!(990));
        assert_eq!(r.data["groups"], json!("adm"));
        assert_eq!(r.data["password"], json!("NOT_LOGGING_PASSWORD"));
        assert_eq!(r.data["create_home"], json!(true));
    }

    #[test]
    fn an_unchanged_user_runs_nothing() {
        let mut h = Harness::fake(existing_bob());
        let r = h.run(
            &User,
            json!({"name": "bob", "uid": 1001, "shell": "/bin/sh", "groups": ["adm"]}),
        );
        assert!(!r.changed, "{:?}", h.conn.log);
        assert!(h.conn.ran("^usermod").is_empty());
        assert_eq!(r.data["append"], json!(false));
    }

    #[test]
    fn groups_replace_or_append() {
        let mut h = Harness::fake(existing_bob());
        h.run(
            &User,
            json!({"name": "bob", "groups": ["users"], "append": true}),
        );
        h.run(&User, json!({"name": "bob", "groups": ["users"]}));
        h.run(
            &User,
            json!({"name": "bob", "groups": ["adm"], "append": true}),
        );
        assert_eq!(
            h.conn.ran("^usermod"),
            ["usermod -a -G users bob", "usermod -G users bob"]
        );
    }

    #[test]
    fn shell_home_and_a_missing_group() {
        let mut h = Harness::fake(existing_bob());
        h.run(
            &User,
            json!({"name": "bob", "shell": "/bin/bash", "home": "/home/b2", "move_home": true}),
        );
        assert_eq!(
            h.conn.ran("^usermod"),
            ["usermod -d /home/b2 -m -s /bin/bash bob"]
        );
        let r = h.run(&User, json!({"name": "bob", "group": "nope"}));
        assert_eq!(r.msg.as_deref(), Some("Group nope does not exist"));
    }

    #[test]
    fn a_password_changes_only_when_the_hash_differs() {
        let conn = existing_bob().on("^getent shadow bob", 0, "bob:$6$a$b:19000:0:99999:7:::\n");
        let mut h = Harness::fake(conn);
        assert!(
            !h.run(&User, json!({"name": "bob", "password": "$6$a$b"}))
                .changed
        );
        assert!(
            h.run(&User, json!({"name": "bob", "password": "$6$c$d"}))
                .changed
        );
        assert!(
            !h.run(
                &User,
                json!({"name": "bob", "password": "$6$c$d", "update_password": "on_create"})
            )
            .changed
        );
        assert_eq!(h.conn.ran("^usermod"), ["usermod -p '$6$c$d' bob"]);
    }

    #[test]
    fn removal_and_check_mode() {
        let mut h = Harness::fake(existing_bob()).check();
        let r = h.run(
            &User,
            json!({"name": "bob", "state": "absent", "remove": true}),
        );
        assert!(r.changed && h.conn.ran("^userdel").is_empty());
        h.check_mode = false;
        let r = h.run(
            &User,
            json!({"name": "bob", "state": "absent", "remove": true}),
        );
        assert_eq!(h.conn.ran("^userdel"), ["userdel -r bob"]);
        assert_eq!(r.data["remove"], json!(true));
        let mut h = Harness::fake(FakeConnection::new().on("^getent", 2, ""));
        assert!(
            !h.run(&User, json!({"name": "eve", "state": "absent"}))
                .changed
        );
    }

    #[test]
    fn a_missing_home_is_created_from_the_skeleton() {
        let conn = FakeConnection::new()
            .on("^getent passwd bob", 0, BOB)
            .dir("/etc/skel")
            .file("/etc/login.defs", "UMASK\t\t077\nHOME_MODE_X 0\n");
        let mut h = Harness::fake(conn);
        let r = h.run(&User, json!({"name": "bob"}));
        assert!(r.changed);
        assert_eq!(
            h.conn.ran("^(cp|chown)"),
            [
                "cp -a -- /etc/skel/. /home/bob",
                "chown -R -- 1001:1001 /home/bob"
            ]
        );
    }
}
