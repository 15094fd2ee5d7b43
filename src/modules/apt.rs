//! `apt`: Debian packages with `apt-get`, decided with `dpkg-query` (and `apt-cache
//! policy` for `latest`) before anything runs, so a second run changes nothing. Commands
//! run with `DEBIAN_FRONTEND=noninteractive` and the C locale, as Ansible's do; check
//! mode runs them with `--simulate`, as Ansible does.
//!
//! Supported: `name` (`pkg`, `pkg=version`, `pkg=1.2*`; `*` with `state: latest`
//! upgrades everything), `state` present/absent/latest, `update_cache`,
//! `cache_valid_time`, `upgrade`, `deb` (a path on the host, or a URL the host downloads
//! with curl or wget), `default_release`, `install_recommends`, `purge`, `autoremove`,
//! `force`, `allow_unauthenticated`, `allow_downgrade`, `allow_change_held_packages`,
//! `only_upgrade`, `dpkg_options`, `lock_timeout`.
//!
//! Not supported: `state: build-dep`/`fixed`, name globs like `python3-*` (Ansible
//! expands them against the cache), `autoclean`, `clean`, `policy_rc_d`,
//! `fail_on_autoremove`, `update_cache_retries`; packages asked for that are already
//! installed as dependencies are not marked manually installed.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::connection::Connection;
use crate::modules::http;
use crate::modules::remote::ScratchDir;
use crate::modules::system::{Run, run, run_env, with_output};
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value;

pub struct Apt;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::List).aliases(&["package", "pkg"]),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "latest", "present"]),
    Param::new("update_cache", Kind::Bool).aliases(&["update-cache"]),
    Param::new("cache_valid_time", Kind::Int).default("0"),
    Param::new("upgrade", Kind::Str).choices(&["dist", "full", "no", "safe", "yes"]),
    Param::new("deb", Kind::Path),
    Param::new("default_release", Kind::Str).aliases(&["default-release"]),
    Param::new("install_recommends", Kind::Bool).aliases(&["install-recommends"]),
    Param::new("purge", Kind::Bool).default("no"),
    Param::new("autoremove", Kind::Bool),
    Param::new("force", Kind::Bool).default("no"),
    Param::new("allow_unauthenticated", Kind::Bool)
        .aliases(&["allow-unauthenticated"])
        .default("no"),
    Param::new("allow_downgrade", Kind::Bool)
        .aliases(&["allow-downgrade", "allow_downgrades", "allow-downgrades"])
        .default("no"),
    Param::new("allow_change_held_packages", Kind::Bool).default("no"),
    Param::new("only_upgrade", Kind::Bool).default("no"),
    Param::new("dpkg_options", Kind::Str).default("force-confdef,force-confold"),
    Param::new("lock_timeout", Kind::Int).default("60"),
])
.mutually_exclusive(&[&["name", "deb", "upgrade"]])
.required_one_of(&[&["autoremove", "deb", "name", "update_cache", "upgrade"]]);

/// Ansible's environment for apt commands: no prompts, and output in a locale it can parse.
const ENV: &[(&str, &str)] = &[
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("DEBIAN_PRIORITY", "critical"),
    ("LANG", "C"),
    ("LC_ALL", "C"),
    ("LC_MESSAGES", "C"),
    ("LC_CTYPE", "C"),
    ("LANGUAGE", "C"),
];

/// What `apt-get` prints when an upgrade has nothing to do.
const NOTHING_DONE: &str = "\n0 upgraded, 0 newly installed, 0 to remove";
const UPDATE_STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const LISTS: &str = "/var/lib/apt/lists";

impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let mut result = apply(args, ctx)?;
        // `--diff` shows what apt-get said it did (or, in check mode, would do), as Ansible's.
        if ctx.diff_mode
            && result.changed
            && let Some(value::Value::String(out)) = result.data.get("stdout")
        {
            let prepared = Diff::prepared(parse_diff(out));
            result.diff.push(prepared);
        }
        Ok(result)
    }
}

/// Ansible's `parse_diff`: apt-get's output from after `Reading state information...` to
/// the `N upgraded, ...` summary line, both ends kept when apt-get printed no such lines.
fn parse_diff(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies..." || *l == "Reading state information...")
        .map_or(0, |i| i + 1);
    let end = lines
        .iter()
        .position(|l| upgraded_summary(l))
        .map_or(lines.len(), |i| i + 1);
    lines.get(start..end).unwrap_or_default().join("\n")
}

/// `0 upgraded, 1 newly installed, ...` (Ansible's `[0-9]+ (packages )?upgraded`, anchored at
/// the start of the line).
fn upgraded_summary(line: &str) -> bool {
    let rest = line.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.len() < line.len()
        && (rest.starts_with(" upgraded") || rest.starts_with(" packages upgraded"))
}

/// What the task does, before `--diff` adds the apt-get output to it.
fn apply(args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
    let apt = AptGet::new(args, ctx.check_mode);
    let valid_for = args.int("cache_valid_time").unwrap_or(0);
    let mut cache_time = cache_mtime(ctx.conn)?;
    let mut cache_updated = false;
    if args.bool("update_cache") || valid_for > 0 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if cache_time + valid_for < now {
            if !ctx.check_mode {
                let r = run_env(ctx.conn, &strings(&["apt-get", "update", "-q"]), ENV)?;
                if !r.success() {
                    return Ok(ModuleResult::failed(format!(
                        "Failed to update apt cache: {}",
                        r.output().trim()
                    )));
                }
            }
            let after = cache_mtime(ctx.conn)?;
            cache_updated = ctx.check_mode || after != cache_time;
            cache_time = after;
        }
    }
    let with_cache = |r: ModuleResult| {
        r.with("cache_updated", cache_updated)
            .with("cache_update_time", cache_time)
    };
    let names = args.list("name");

    if let Some(mode) = args.str("upgrade").filter(|m| *m != "no") {
        return upgrade(ctx.conn, &apt, mode);
    }
    if let Some(deb) = args.str("deb") {
        if args.str("state") != Some("present") {
            return Ok(ModuleResult::failed("deb only supports state=present"));
        }
        return install_deb(ctx.conn, &apt, deb);
    }
    if names.is_empty() {
        if args.bool("autoremove") {
            return autoremove(ctx.conn, &apt);
        }
        return Ok(with_cache(ModuleResult::changed(cache_updated)));
    }
    if names.iter().any(|n| n == "*") {
        if names.len() > 1 {
            return Ok(ModuleResult::failed(
                "unable to install additional packages when upgrading all installed packages",
            ));
        }
        if args.str("state") == Some("latest") {
            return upgrade(ctx.conn, &apt, "yes");
        }
    }
    let mut specs = Vec::new();
    for name in names.iter().filter(|n| *n != "*") {
        match PackageSpec::parse(name.trim()) {
            Some(spec) => specs.push(spec),
            None => {
                return Ok(ModuleResult::failed(format!(
                    "invalid package spec: {name}"
                )));
            }
        }
    }
    let installed = query(ctx.conn, &specs)?;
    match args.str("state") {
        Some("absent") => remove(ctx.conn, &apt, &specs, &installed),
        state => {
            let latest = state == Some("latest");
            let pinned = specs.iter().any(|s| s.version.is_some());
            let candidates = if latest || pinned {
                candidates(ctx.conn, &specs, args.str("default_release"))?
            } else {
                HashMap::new()
            };
            let at_least = satisfied_minimums(ctx.conn, &specs, &installed)?;
            let known = Known {
                installed: &installed,
                candidates: &candidates,
                at_least: &at_least,
            };
            let wanted: Vec<String> = specs
                .iter()
                .filter(|s| s.needs_install(&known, latest))
                .filter(|s| !apt.only_upgrade || installed.contains_key(&s.name))
                .map(|s| s.install_arg())
                .collect();
            Ok(with_cache(install(ctx.conn, &apt, &wanted)?))
        }
    }
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// When the package lists were last refreshed: the stamp apt touches after a
/// successful update, else the lists directory (as Ansible decides `cache_valid_time`).
fn cache_mtime(conn: &mut dyn Connection) -> Result<i64, String> {
    for path in [UPDATE_STAMP, LISTS] {
        if let Some(st) = conn.stat(path, true)? {
            return Ok(st.mtime as i64);
        }
    }
    Ok(0)
}

/// The options every `apt-get` run of one task shares.
struct AptGet {
    dpkg_options: Vec<String>,
    check_mode: bool,
    force: bool,
    purge: bool,
    autoremove: bool,
    only_upgrade: bool,
    default_release: Option<String>,
    install_recommends: Option<bool>,
    allow_unauthenticated: bool,
    allow_downgrade: bool,
    allow_change_held_packages: bool,
}

impl AptGet {
    fn new(args: &Args, check_mode: bool) -> AptGet {
        let mut dpkg_options = Vec::new();
        for opt in args.str("dpkg_options").unwrap_or_default().split(',') {
            if !opt.trim().is_empty() {
                dpkg_options.push("-o".to_string());
                dpkg_options.push(format!("Dpkg::Options::=--{}", opt.trim()));
            }
        }
        if let Some(secs) = args.int("lock_timeout") {
            dpkg_options.push("-o".to_string());
            dpkg_options.push(format!("DPkg::Lock::Timeout={secs}"));
        }
        AptGet {
            dpkg_options,
            check_mode,
            force: args.bool("force"),
            purge: args.bool("purge"),
            autoremove: args.bool("autoremove"),
            only_upgrade: args.bool("only_upgrade"),
            default_release: args.str("default_release").map(str::to_string),
            install_recommends: args.get("install_recommends").and_then(value::to_bool),
            allow_unauthenticated: args.bool("allow_unauthenticated"),
            allow_downgrade: args.bool("allow_downgrade"),
            allow_change_held_packages: args.bool("allow_change_held_packages"),
        }
    }

    /// `apt-get -y [-q] <dpkg options> [flags] OPERATION ARGS... [install options]`.
    fn command(&self, operation: &str, quiet: bool, packages: &[String]) -> Vec<String> {
        let mut argv = strings(&["apt-get", "-y"]);
        if quiet {
            argv.push("-q".into());
        }
        argv.extend(self.dpkg_options.iter().cloned());
        let flag = |on: bool, text: &str| on.then(|| text.to_string());
        let installing = operation == "install";
        argv.extend(
            [
                flag(self.purge && !installing, "--purge"),
                flag(self.only_upgrade && installing, "--only-upgrade"),
                flag(self.force, "--force-yes"),
                flag(
                    self.autoremove && operation != "autoremove",
                    "--auto-remove",
                ),
                flag(self.check_mode, "--simulate"),
            ]
            .into_iter()
            .flatten(),
        );
        argv.push(operation.to_string());
        argv.extend(packages.iter().cloned());
        if (installing || operation.contains("upgrade"))
            && let Some(release) = &self.default_release
        {
            argv.extend(["-t".to_string(), release.clone()]);
        }
        if installing {
            if let Some(rec) = self.install_recommends {
                argv.push("-o".into());
                argv.push(format!(
                    "APT::Install-Recommends={}",
                    if rec { "yes" } else { "no" }
                ));
            }
            argv.extend(
                [
                    flag(self.allow_unauthenticated, "--allow-unauthenticated"),
                    flag(self.allow_downgrade, "--allow-downgrades"),
                ]
                .into_iter()
                .flatten(),
            );
        }
        if self.allow_change_held_packages && (installing || operation == "remove") {
            argv.push("--allow-change-held-packages".into());
        }
        argv
    }

    fn run(&self, conn: &mut dyn Connection, argv: &[String]) -> Result<Run, String> {
        run_env(conn, argv, ENV)
    }
}

/// `name`, `name=version` (the version may end in a `*` glob) or `name>=version`.
#[derive(Clone, Debug, PartialEq)]
struct PackageSpec {
    name: String,
    version: Option<(String, String)>,
}

impl PackageSpec {
    fn parse(spec: &str) -> Option<PackageSpec> {
        if spec.matches('=').count() > 1 || spec.is_empty() {
            return None;
        }
        let Some(i) = spec.find('=') else {
            return Some(PackageSpec {
                name: spec.to_string(),
                version: None,
            });
        };
        let (name, op) = match spec[..i].strip_suffix('>') {
            Some(name) => (name, ">="),
            None => (&spec[..i], "="),
        };
        Some(PackageSpec {
            name: name.to_string(),
            version: Some((op.to_string(), spec[i + 1..].to_string())),
        })
    }

    /// The name as dpkg lists it (`libc6:amd64` is `libc6`).
    fn base_name(&self) -> &str {
        self.name.split(':').next().unwrap_or(&self.name)
    }

    fn needs_install(&self, known: &Known<'_>, latest: bool) -> bool {
        let Some(current) = known
            .installed
            .get(self.base_name())
            .filter(|i| i.installed)
        else {
            return true;
        };
        let candidate = known.candidates.get(self.base_name());
        match &self.version {
            Some((op, version)) if op == "=" => {
                let matches =
                    |v: &str| glob::Pattern::new(version).map_or(v == version, |p| p.matches(v));
                // Ansible's legacy rule: a newer candidate the glob also matches is installed.
                !matches(&current.version)
                    || candidate.is_some_and(|c| *c != current.version && matches(c))
            }
            Some(_) => !known.at_least.contains(&self.name),
            None => latest && candidate != Some(&current.version),
        }
    }

    /// How `apt-get install` is given the package (`>=` is apt's business, `=` pins).
    fn install_arg(&self) -> String {
        match &self.version {
            Some((op, version)) if op == "=" => format!("{}={version}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// What the host told about the packages asked for.
struct Known<'a> {
    installed: &'a HashMap<String, Installed>,
    /// The version apt would install, by name (for `latest` and pinned versions).
    candidates: &'a HashMap<String, String>,
    /// The `name>=version` specs whose installed version is recent enough.
    at_least: &'a HashSet<String>,
}

/// The `>=` specs the installed version satisfies, compared by dpkg's own rules.
fn satisfied_minimums(
    conn: &mut dyn Connection,
    specs: &[PackageSpec],
    installed: &HashMap<String, Installed>,
) -> Result<HashSet<String>, String> {
    let mut ok = HashSet::new();
    for spec in specs {
        let (Some((op, minimum)), Some(current)) = (&spec.version, installed.get(spec.base_name()))
        else {
            continue;
        };
        if op == ">=" && current.installed {
            let cmp = run(
                conn,
                &[
                    "dpkg",
                    "--compare-versions",
                    &current.version,
                    "ge",
                    minimum,
                ],
            )?;
            if cmp.success() {
                ok.insert(spec.name.clone());
            }
        }
    }
    Ok(ok)
}

/// A package dpkg knows: fully installed, or only leftovers (config files).
#[derive(Clone, Debug)]
struct Installed {
    installed: bool,
    version: String,
}

/// dpkg's view of the packages, by name, in one `dpkg-query` (a name dpkg has never
/// heard of is simply absent from the answer).
fn query(
    conn: &mut dyn Connection,
    specs: &[PackageSpec],
) -> Result<HashMap<String, Installed>, String> {
    let mut argv = strings(&[
        "dpkg-query",
        "-W",
        "-f",
        "${Package}\t${Status}\t${Version}\n",
    ]);
    argv.extend(specs.iter().map(|s| s.name.clone()));
    let out = run_env(conn, &argv, ENV)?;
    let mut found = HashMap::new();
    for line in out.stdout.lines() {
        let mut fields = line.split('\t');
        let (Some(name), Some(status), Some(version)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let state = status.split_whitespace().nth(2).unwrap_or("");
        if state == "not-installed" {
            continue;
        }
        found.insert(
            name.to_string(),
            Installed {
                installed: state == "installed",
                version: version.to_string(),
            },
        );
    }
    Ok(found)
}

/// The candidate version apt would install for each package (`apt-cache policy`).
fn candidates(
    conn: &mut dyn Connection,
    specs: &[PackageSpec],
    release: Option<&str>,
) -> Result<HashMap<String, String>, String> {
    let mut argv = strings(&["apt-cache"]);
    if let Some(release) = release {
        argv.extend(["-o".to_string(), format!("APT::Default-Release={release}")]);
    }
    argv.push("policy".into());
    argv.extend(specs.iter().map(|s| s.name.clone()));
    let out = run_env(conn, &argv, ENV)?;
    let mut found = HashMap::new();
    let mut current: Option<String> = None;
    for line in out.stdout.lines() {
        if !line.starts_with(' ') {
            current = line
                .strip_suffix(':')
                .map(|n| n.split(':').next().unwrap_or(n).to_string());
        } else if let (Some(name), Some(version)) =
            (&current, line.trim().strip_prefix("Candidate: "))
            && version != "(none)"
        {
            found.insert(name.clone(), version.to_string());
        }
    }
    Ok(found)
}

fn install(
    conn: &mut dyn Connection,
    apt: &AptGet,
    packages: &[String],
) -> Result<ModuleResult, String> {
    if packages.is_empty() {
        return Ok(ModuleResult::ok());
    }
    let argv = apt.command("install", false, packages);
    let r = apt.run(conn, &argv)?;
    if !r.success() {
        return Ok(failed_command(&shell_line(&argv), &r));
    }
    Ok(with_output(ModuleResult::changed(true), &r))
}

fn remove(
    conn: &mut dyn Connection,
    apt: &AptGet,
    specs: &[PackageSpec],
    installed: &HashMap<String, Installed>,
) -> Result<ModuleResult, String> {
    let packages: Vec<String> = specs
        .iter()
        .filter(|s| {
            installed
                .get(s.base_name())
                .is_some_and(|i| i.installed || apt.purge)
        })
        .map(|s| s.name.clone())
        .collect();
    if packages.is_empty() {
        return Ok(ModuleResult::ok());
    }
    let r = apt.run(conn, &apt.command("remove", true, &packages))?;
    if !r.success() {
        return Ok(failed_command(
            &format!("apt-get remove {}", packages.join(" ")),
            &r,
        ));
    }
    Ok(with_output(ModuleResult::changed(true), &r))
}

fn autoremove(conn: &mut dyn Connection, apt: &AptGet) -> Result<ModuleResult, String> {
    let r = apt.run(conn, &apt.command("autoremove", false, &[]))?;
    if !r.success() {
        return Ok(failed_command("apt-get autoremove", &r));
    }
    let changed = r.stdout.contains("The following packages will be REMOVED");
    Ok(with_output(ModuleResult::changed(changed), &r))
}

/// `upgrade`: every installed package, with apt-get (Ansible prefers aptitude for
/// `yes`/`safe` when installed; srplay always uses apt-get's equivalent).
fn upgrade(conn: &mut dyn Connection, apt: &AptGet, mode: &str) -> Result<ModuleResult, String> {
    let words: &[&str] = match mode {
        "dist" | "full" => &["dist-upgrade"],
        _ => &["upgrade", "--with-new-pkgs"],
    };
    let mut argv = apt.command(words[0], false, &strings(&words[1..]));
    if apt.allow_unauthenticated {
        argv.push("--allow-unauthenticated".into());
    }
    let r = apt.run(conn, &argv)?;
    if !r.success() {
        return Ok(failed_command(&format!("apt-get {}", words.join(" ")), &r));
    }
    let changed = !r.stdout.contains(NOTHING_DONE);
    Ok(with_output(ModuleResult::changed(changed), &r).with_msg(r.stdout.clone()))
}

/// `deb`: a package file on the host (downloaded there first when it is a URL),
/// installed with `apt-get install FILE` so its dependencies come from the repositories.
fn install_deb(conn: &mut dyn Connection, apt: &AptGet, deb: &str) -> Result<ModuleResult, String> {
    if !deb.contains("://") {
        return install_deb_file(conn, apt, deb);
    }
    // apt-get takes a file for a package only when its name ends in `.deb`.
    let scratch = ScratchDir::create(conn)?;
    let path = scratch.file("package.deb");
    let result = match http::download(conn, deb, true, &path)? {
        Ok(()) => install_deb_file(conn, apt, &path),
        Err(msg) => Ok(ModuleResult::failed(format!(
            "Failure downloading {deb}, {msg}"
        ))),
    };
    scratch.remove(conn)?;
    result
}

fn install_deb_file(
    conn: &mut dyn Connection,
    apt: &AptGet,
    path: &str,
) -> Result<ModuleResult, String> {
    let fields = run(conn, &["dpkg-deb", "--field", path, "Package", "Version"])?;
    if !fields.success() {
        return Ok(failed_command(&format!("dpkg-deb --field {path}"), &fields));
    }
    let field = |key: &str| {
        fields
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let (name, version) = (field("Package"), field("Version"));
    let spec = PackageSpec {
        name: name.clone(),
        version: Some(("=".into(), version)),
    };
    let installed = query(conn, std::slice::from_ref(&spec))?;
    let known = Known {
        installed: &installed,
        candidates: &HashMap::new(),
        at_least: &HashSet::new(),
    };
    if !apt.force && !spec.needs_install(&known, false) {
        return Ok(ModuleResult::ok());
    }
    // apt-get takes a file (not a package name) only when it looks like a path.
    let file = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("./{path}")
    };
    install(conn, apt, &[file])
}

fn shell_line(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

fn failed_command(what: &str, r: &Run) -> ModuleResult {
    with_output(
        ModuleResult::failed(format!("'{what}' failed: {}", r.stderr.trim_end())),
        r,
    )
    .with("rc", r.rc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const HELLO: &str = "hello\tinstall ok installed\t2.10-3\n";

    #[test]
    fn diff_keeps_apt_gets_plan_as_ansibles_parse_diff() {
        let out = "Reading package lists...\nBuilding dependency tree...\n\
            Reading state information...\nThe following NEW packages will be installed:\n  \
            hello\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\n\
            Setting up hello (2.10-3) ...\n";
        assert_eq!(
            parse_diff(out),
            "The following NEW packages will be installed:\n  hello\n\
             0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
        );
        // Without the markers (dpkg's own output), all of it.
        assert_eq!(
            parse_diff("Unpacking a ...\nSetting up a ...\n"),
            "Unpacking a ...\nSetting up a ..."
        );
    }

    #[test]
    fn package_specs_split_like_ansibles() {
        let s = PackageSpec::parse("hello=2.10*").unwrap();
        assert_eq!(s.name, "hello");
        assert_eq!(s.version, Some(("=".into(), "2.10*".into())));
        let s = PackageSpec::parse("hello>=2").unwrap();
        assert_eq!(s.version, Some((">=".into(), "2".into())));
        assert!(PackageSpec::parse("a=1=2").is_none());
    }

    #[test]
    fn installs_only_what_dpkg_lacks() {
        let conn = FakeConnection::new().on("^dpkg-query", 1, HELLO);
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Apt,
            json!({"name": ["hello", "sl"], "install_recommends": false}),
        );
        assert!(r.changed);
        assert_eq!(
            h.conn.ran("^apt-get"),
            [
                "apt-get -y -o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold' -o 'DPkg::Lock::Timeout=60' install sl -o 'APT::Install-Recommends=no'"
            ]
        );
        assert_eq!(r.data["cache_updated"], false);
    }

    #[test]
    fn nothing_runs_when_all_are_installed() {
        let mut h = Harness::fake(FakeConnection::new().on("^dpkg-query", 0, HELLO));
        let r = h.run(&Apt, json!({"name": "hello"}));
        assert!(!r.changed);
        assert!(h.conn.ran("^apt-get").is_empty());
        assert!(r.data.contains_key("cache_update_time"));
    }

    #[test]
    fn a_pinned_version_installs_when_another_is_there() {
        let policy = "hello:\n  Installed: 2.10-3\n  Candidate: 2.10-3\n";
        let conn = FakeConnection::new()
            .on("^dpkg-query", 0, HELLO)
            .on("^apt-cache", 0, policy);
        let mut h = Harness::fake(conn);
        assert!(!h.run(&Apt, json!({"name": "hello=2.10*"})).changed);
        let r = h.run(
            &Apt,
            json!({"name": "hello=2.9-1", "default_release": "bookworm"}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("install 'hello=2.9-1' -t bookworm$").len(), 1);
    }

    #[test]
    fn a_glob_matching_a_newer_candidate_installs_it_as_ansible_does() {
        let policy = "hello:\n  Installed: 2.10-3\n  Candidate: 2.10-4\n";
        let conn = FakeConnection::new()
            .on("^dpkg-query", 0, HELLO)
            .on("^apt-cache", 0, policy);
        let mut h = Harness::fake(conn);
        assert!(h.run(&Apt, json!({"name": "hello=2.10*"})).changed);
        assert!(!h.run(&Apt, json!({"name": "hello=2.10-3"})).changed);
    }

    #[test]
    fn a_minimum_version_is_compared_by_dpkg() {
        let conn = FakeConnection::new()
            .on("^dpkg-query", 0, HELLO)
            .on("^dpkg --compare-versions 2.10-3 ge 2.9$", 0, "")
            .on("^dpkg --compare-versions", 1, "");
        let mut h = Harness::fake(conn);
        assert!(!h.run(&Apt, json!({"name": "hello>=2.9"})).changed);
        assert!(h.run(&Apt, json!({"name": "hello>=2.11"})).changed);
        assert_eq!(h.conn.ran(" install hello$").len(), 1);
    }

    #[test]
    fn latest_compares_with_the_candidate() {
        let policy = "hello:\n  Installed: 2.10-3\n  Candidate: 2.10-4\n  Version table:\n";
        let conn = FakeConnection::new().on("^dpkg-query", 0, HELLO).on(
            "^apt-cache policy hello$",
            0,
            policy,
        );
        let mut h = Harness::fake(conn);
        assert!(
            h.run(&Apt, json!({"name": "hello", "state": "latest"}))
                .changed
        );
        assert_eq!(h.conn.ran(" install hello$").len(), 1);

        let policy = "hello:\n  Installed: 2.10-3\n  Candidate: 2.10-3\n";
        let conn =
            FakeConnection::new()
                .on("^dpkg-query", 0, HELLO)
                .on("^apt-cache policy", 0, policy);
        let mut h = Harness::fake(conn);
        assert!(
            !h.run(&Apt, json!({"name": "hello", "state": "latest"}))
                .changed
        );
    }

    #[test]
    fn absent_removes_installed_packages_and_purge_also_leftovers() {
        let leftovers = "sl\tdeinstall ok config-files\t5.02-1\n";
        let conn = FakeConnection::new().on("^dpkg-query", 0, &format!("{HELLO}{leftovers}"));
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Apt,
            json!({"name": ["hello", "sl", "cowsay"], "state": "absent"}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^apt-get .* remove hello$").len(), 1);
        assert!(!r.data.contains_key("cache_updated"), "as Ansible's remove");

        let r = h.run(
            &Apt,
            json!({"name": ["sl"], "state": "absent", "purge": true, "autoremove": true}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("--purge --auto-remove remove sl$").len(), 1);

        let mut h = Harness::fake(FakeConnection::new().on("^dpkg-query", 1, ""));
        assert!(
            !h.run(&Apt, json!({"name": "cowsay", "state": "absent"}))
                .changed
        );
    }

    #[test]
    fn check_mode_simulates() {
        let mut h = Harness::fake(FakeConnection::new().on("^dpkg-query", 1, "")).check();
        let r = h.run(&Apt, json!({"name": "hello", "update_cache": true}));
        assert!(r.changed);
        assert_eq!(h.conn.ran("--simulate install hello$").len(), 1);
        assert!(h.conn.ran("apt-get update").is_empty());
        assert_eq!(r.data["cache_updated"], true);
    }

    #[test]
    fn update_cache_alone_reports_changed_and_respects_cache_valid_time() {
        let mut conn = FakeConnection::new();
        conn.dirs.push(LISTS.into());
        let mut h = Harness::fake(conn);
        let r = h.run(&Apt, json!({"update_cache": true}));
        assert_eq!(h.conn.ran("^apt-get update -q$").len(), 1);
        // The fake host's files never change their mtime: the update changed nothing.
        assert!(!r.changed);
        assert_eq!(r.data["cache_update_time"], 0);

        let mut h = Harness::fake(FakeConnection::new());
        h.run(
            &Apt,
            json!({"update_cache": true, "cache_valid_time": i64::MAX / 2}),
        );
        assert!(h.conn.ran("apt-get update").is_empty());
    }

    #[test]
    fn failures_carry_apts_output() {
        let conn = FakeConnection::new().on("^dpkg-query", 1, "").on(
            " install ",
            100,
            "Reading package lists...\n",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(&Apt, json!({"name": "nosuch"}));
        assert!(r.failed);
        assert!(r.msg.unwrap().starts_with("'apt-get -y "));
        assert_eq!(r.data["rc"], 100);
    }

    #[test]
    fn deb_files_install_unless_that_version_is_there() {
        let conn = FakeConnection::new()
            .on("^dpkg-deb --field", 0, "Package: hello\nVersion: 2.10-3\n")
            .once("^dpkg-query", 1, "")
            .on("^dpkg-query", 0, HELLO);
        let mut h = Harness::fake(conn);
        let r = h.run(&Apt, json!({"deb": "/tmp/hello.deb"}));
        assert!(r.changed);
        assert_eq!(h.conn.ran(" install /tmp/hello.deb$").len(), 1);
        assert!(!h.run(&Apt, json!({"deb": "/tmp/hello.deb"})).changed);
    }

    #[test]
    fn deb_urls_are_downloaded_on_the_host_and_removed_after() {
        let conn = FakeConnection::new()
            .serving(1, "200 OK", "package.deb", "deb")
            .on("^dpkg-deb --field", 0, "Package: hello\nVersion: 2.10-3\n")
            .on("^dpkg-query", 1, "");
        let mut h = Harness::fake(conn);
        let r = h.run(&Apt, json!({"deb": "https://example.org/hello.deb"}));
        assert!(r.changed, "{r:?}");
        assert_eq!(h.conn.ran(" install /tmp/srplay.out/package.deb").len(), 1);
        assert!(h.conn.files.keys().all(|f| !f.starts_with("/tmp/")));
    }

    #[test]
    fn upgrade_and_star_latest_use_apt_get_upgrade() {
        let done = "Reading...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n";
        let mut h = Harness::fake(FakeConnection::new().on("upgrade", 0, done));
        assert!(!h.run(&Apt, json!({"name": "*", "state": "latest"})).changed);
        assert_eq!(h.conn.ran(" upgrade --with-new-pkgs$").len(), 1);
        let r = h.run(&Apt, json!({"upgrade": "dist"}));
        assert!(!r.changed);
        assert_eq!(h.conn.ran(" dist-upgrade$").len(), 1);
    }

    #[test]
    fn commands_run_noninteractive() {
        let mut h = Harness::fake(FakeConnection::new());
        h.run(&Apt, json!({"name": "hello"}));
        let install = h
            .conn
            .log
            .iter()
            .position(|l| l.contains(" install "))
            .unwrap();
        assert!(
            h.conn.envs[install].contains(&("DEBIAN_FRONTEND".into(), "noninteractive".into()))
        );
    }
}
