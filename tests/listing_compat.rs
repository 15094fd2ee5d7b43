//! `--syntax-check`, `--list-hosts`, `--list-tasks` and `--list-tags` against the real
//! `ansible-playbook`, on every playbook in the repo: each top-level playbook of each
//! `tests/compat/cases/*/` and `tests/fixtures/listing/*/` dir, the `examples/`
//! playbooks, and `playbooks/*.yml` plus the repo's top-level playbooks should those
//! ever exist. Both tools get the case's inventory and its `-e`/`--tags`/`--skip-tags`/
//! `-l` arguments from `case.yml`; stdout is compared line by line modulo whitespace,
//! with the hosts under `hosts (N):` and the items of a play's `TAGS: [...]` compared
//! as sets (ansible prints both in Python set order, which the hash seed changes), and
//! exit codes must agree.
//!
//! Ansible is slow (about a second per call), so it runs once per playbook with
//! `--list-hosts --list-tasks --list-tags`, and that output is split into what each
//! flag alone prints (ansible-playbook builds the single-flag output from the same
//! pieces; `verify_split` checks this on a sample, or on everything with
//! `SRPLAY_LISTING_VERIFY=all`). One exception: `--list-tags` without `--tags` makes
//! ansible select `never` tasks too, so a playbook that may have some gets a separate
//! `--list-tasks` call. `--syntax-check` prints only the `playbook:` lines
//! and loads exactly what the listing loads, so a listing that succeeded stands for
//! it; a listing that failed gets a real `--syntax-check` call. srplay is fast and
//! runs once per flag set.
//!
//! `SRPLAY_LISTING_ONLY=compat/64` (a comma list of prefixes) runs a subset;
//! `SRPLAY_ANSIBLE_VENV` points at the venv with ansible-core 2.19 (default
//! `/opt/ansible-venv`).

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The flag sets compared, by name.
const LISTINGS: &[(&str, &[&str])] = &[
    ("syntax-check", &["--syntax-check"]),
    ("list-hosts", &["--list-hosts"]),
    ("list-tasks", &["--list-tasks"]),
    ("list-tags", &["--list-tags"]),
    ("list-tasks+tags", &["--list-tasks", "--list-tags"]),
    ("list-all", &["--list-hosts", "--list-tasks", "--list-tags"]),
];

/// Where srplay differs from ansible on purpose: (playbook, listing or `*` for all,
/// why). A listing named here may differ (the difference is printed as a note); an
/// entry that no longer matches any difference fails the test, so the list cannot go
/// stale.
const DELIBERATE: &[(&str, &str, &str)] = &[
    // srplay checks module parameters when it loads the playbook (exit 4, with the
    // task's position); Ansible finds `bogus` only when the task runs, so it lists it.
    (
        "fixtures/unknown-module-parameter/playbook.yml",
        "*",
        "srplay rejects unknown module parameters at load time",
    ),
];

/// Targets whose single-flag ansible output is checked against the split of the
/// combined call, on every run.
const VERIFY_SAMPLE: &[&str] = &[
    "compat/64-list-tasks/playbook.yml",
    "compat/65-list-hosts/playbook.yml",
    "compat/68-syntax-error/playbook.yml",
    "fixtures/tags-default/playbook.yml",
];

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// One playbook to list, with what it is run with.
struct Target {
    /// How reports name it: `compat/07-import-playbook/site.yml`.
    name: String,
    /// The directory run in (copied to a temp dir first when `copy`).
    dir: PathBuf,
    copy: bool,
    /// The playbook, relative to `dir`.
    playbook: String,
    /// The inventory, copied into the run dir as `inventory` when `dir` has none.
    inventory: PathBuf,
    /// The case's `-e`, `--tags`, `--skip-tags` and `-l` arguments.
    args: Vec<String>,
}

/// One run of one tool.
#[derive(Clone, Debug, PartialEq)]
struct Ran {
    rc: i32,
    stdout: String,
    stderr: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `path` holds a playbook: a YAML list whose items have `hosts:` or
/// `import_playbook:` (task files and var files do not).
fn is_playbook(path: &Path) -> bool {
    let Ok(Value::Array(items)) = srplay::yaml::load_value_file(path) else {
        return false;
    };
    !items.is_empty()
        && items.iter().all(|item| {
            [
                "hosts",
                "import_playbook",
                "ansible.builtin.import_playbook",
            ]
            .iter()
            .any(|k| item.get(k).is_some())
        })
}

/// The playbooks among a directory's top-level YAML files, plus `always` (a case's
/// own playbook, listed even when it is broken: its errors are compared too).
fn playbooks_in(dir: &Path, always: &[String]) -> Vec<String> {
    let mut names = yml_files(dir);
    names.extend(always.iter().filter(|a| dir.join(a).exists()).cloned());
    names.sort();
    names.dedup();
    names
}

fn yml_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .filter(|p| is_playbook(p))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The arguments of a case's `args:` that change a listing.
fn listing_args(args: &[String]) -> Vec<String> {
    const WITH_VALUE: &[&str] = &[
        "-e",
        "--extra-vars",
        "-t",
        "--tags",
        "--skip-tags",
        "-l",
        "--limit",
        // A listing reads vaulted files too (vars_files, group_vars).
        "--vault-password-file",
        "--vault-pass-file",
        "--vault-id",
    ];
    let mut kept = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if WITH_VALUE.contains(&arg.as_str()) {
            kept.push(arg.clone());
            kept.extend(it.next().cloned());
        } else if WITH_VALUE
            .iter()
            .any(|f| f.starts_with("--") && arg.starts_with(&format!("{f}=")))
        {
            kept.push(arg.clone());
        }
    }
    kept
}

/// A case's listing arguments and its own playbook (`playbook:` in `case.yml`, else
/// `site.yml` or `playbook.yml`, as the compat suite picks it).
fn case_spec(dir: &Path) -> (Vec<String>, String) {
    let path = dir.join("case.yml");
    let spec = if path.exists() {
        srplay::yaml::load_value_file(&path)
            .unwrap_or_else(|e| panic!("{}: bad case.yml: {e:?}", path.display()))
    } else {
        Value::Null
    };
    let playbook = match spec.get("playbook").and_then(Value::as_str) {
        Some(p) => p.to_string(),
        None if dir.join("site.yml").exists() => "site.yml".into(),
        None => "playbook.yml".into(),
    };
    let args: Vec<String> = spec
        .get("args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    (listing_args(&args), playbook)
}

/// Every playbook of the repo, in a stable order.
fn targets() -> Vec<Target> {
    let repo = repo();
    let default_inventory = repo.join("tests/compat/default-inventory");
    let mut targets = Vec::new();
    for (label, base) in [
        ("compat", "tests/compat/cases"),
        ("fixtures", "tests/fixtures/listing"),
    ] {
        let Ok(entries) = std::fs::read_dir(repo.join(base)) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let case = dir.file_name().unwrap().to_string_lossy().into_owned();
            let (args, playbook) = case_spec(&dir);
            for playbook in playbooks_in(&dir, &[playbook]) {
                targets.push(Target {
                    name: format!("{label}/{case}/{playbook}"),
                    dir: dir.clone(),
                    copy: true,
                    inventory: default_inventory.clone(),
                    playbook,
                    args: args.clone(),
                });
            }
        }
    }
    for sub in ["examples", "playbooks"] {
        let dir = repo.join(sub);
        let inventory = [dir.join("inventory"), repo.join("inventory")]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| default_inventory.clone());
        for playbook in playbooks_in(&dir, &[]) {
            targets.push(Target {
                name: format!("{sub}/{playbook}"),
                dir: dir.clone(),
                copy: true,
                inventory: inventory.clone(),
                playbook,
                args: Vec::new(),
            });
        }
    }
    // The repo's top level is too big to copy (target/): its playbooks run in place;
    // listing writes nothing.
    for playbook in yml_files(&repo) {
        let inventory = Some(repo.join("inventory"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| default_inventory.clone());
        targets.push(Target {
            name: playbook.clone(),
            dir: repo.clone(),
            copy: false,
            inventory,
            playbook,
            args: Vec::new(),
        });
    }
    targets
}

fn find_ansible() -> Option<PathBuf> {
    let venv = std::env::var_os("SRPLAY_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/ansible-venv"));
    venv.join("bin/ansible-playbook").exists().then_some(venv)
}

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Ansible,
    Srplay,
}

/// A target's run directory: a temp copy of its dir with an inventory and a home.
struct Workspace {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    work: PathBuf,
    home: PathBuf,
}

impl Workspace {
    fn new(target: &Target) -> Workspace {
        let tmp = tempfile::Builder::new()
            .prefix("srplay-listing-")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let work = if target.copy {
            let work = root.join("case");
            support::copy_dir(&target.dir, &work);
            if !work.join("inventory").exists() {
                if target.inventory.is_dir() {
                    support::copy_dir(&target.inventory, &work.join("inventory"));
                } else {
                    std::fs::copy(&target.inventory, work.join("inventory")).unwrap();
                }
            }
            work
        } else {
            target.dir.clone()
        };
        Workspace {
            _tmp: tmp,
            root,
            work,
            home,
        }
    }

    fn run(&self, venv: &Path, tool: Tool, target: &Target, flags: &[&str]) -> Ran {
        let mut cmd = match tool {
            Tool::Ansible => {
                let mut cmd = Command::new(venv.join("bin/ansible-playbook"));
                // Interpreter discovery can pick a broken python (pyenv shims).
                cmd.env("ANSIBLE_PYTHON_INTERPRETER", venv.join("bin/python"));
                cmd
            }
            Tool::Srplay => Command::new(env!("CARGO_BIN_EXE_srplay")),
        };
        let inventory = if target.copy {
            PathBuf::from("inventory")
        } else {
            target.inventory.clone()
        };
        cmd.current_dir(&self.work)
            .arg("-i")
            .arg(inventory)
            .arg(&target.playbook)
            .arg("-e")
            .arg(format!("out={}", self.root.join("out").display()))
            .args(&target.args)
            .args(flags)
            .env("HOME", &self.home)
            .env("ANSIBLE_HOME", self.home.join(".ansible"))
            .env("ANSIBLE_LOCAL_TEMP", self.home.join("tmp"))
            .env("TMPDIR", &self.home)
            .env("ANSIBLE_NOCOLOR", "1")
            .env("NO_COLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env("ANSIBLE_LOCALHOST_WARNING", "0")
            .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env_remove("ANSIBLE_CONFIG");
        let (rc, stdout, stderr) = support::run_with_timeout(cmd, &self.root, RUN_TIMEOUT);
        let normalise = |s: String| {
            s.replace(&self.work.display().to_string(), "<CASE>")
                .replace(&self.root.display().to_string(), "<TMP>")
        };
        Ran {
            rc,
            stdout: normalise(stdout),
            stderr: normalise(stderr),
        }
    }
}

/// Which section of a `--list-hosts --list-tasks --list-tags` output a line is in.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    /// `playbook:` and `play #N` lines: every flag prints them.
    Common,
    Hosts,
    Tasks,
    Tags,
}

/// Splits ansible's combined listing into what `flags` alone print: the common lines
/// plus the sections those flags ask for.
fn split_listing(combined: &str, flags: &[&str]) -> String {
    let wants = |section: Section| match section {
        Section::Common => true,
        Section::Hosts => flags.contains(&"--list-hosts"),
        Section::Tasks => flags.contains(&"--list-tasks"),
        Section::Tags => flags.contains(&"--list-tags"),
    };
    let syntax_only = flags == ["--syntax-check"];
    let mut out = String::new();
    let mut section = Section::Common;
    let mut hosts_left = 0usize;
    for line in combined.lines() {
        let t = line.trim();
        let this = if hosts_left > 0 {
            hosts_left -= 1;
            Section::Hosts
        } else if t.starts_with("playbook: ") {
            section = Section::Common;
            Section::Common
        } else if t.starts_with("play #") {
            section = Section::Common;
            if syntax_only {
                continue;
            }
            Section::Common
        } else if t.starts_with("pattern: ") {
            Section::Hosts
        } else if let Some(n) = hosts_count(t) {
            hosts_left = n;
            Section::Hosts
        } else if t == "tasks:" {
            section = Section::Tasks;
            Section::Tasks
        } else if t.starts_with("TASK TAGS: ") {
            section = Section::Common;
            Section::Tags
        } else {
            section
        };
        if syntax_only && this != Section::Common {
            continue;
        }
        if wants(this) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn hosts_count(line: &str) -> Option<usize> {
    line.strip_prefix("hosts (")?
        .strip_suffix("):")?
        .parse()
        .ok()
}

/// Lines with runs of whitespace squeezed and blank lines dropped; the hosts under
/// `hosts (N):` sorted, and the items of a play line's `TAGS: [a,b]` sorted: ansible
/// prints both in Python set order, which changes with the hash seed.
fn normalise(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .map(|l| sort_play_tags(&l))
        .collect();
    let mut i = 0;
    while i < lines.len() {
        if let Some(n) = hosts_count(&lines[i]) {
            let end = (i + 1 + n).min(lines.len());
            lines[i + 1..end].sort();
            i = end;
        } else {
            i += 1;
        }
    }
    lines.into_iter().map(|l| l + "\n").collect()
}

fn sort_play_tags(line: &str) -> String {
    if !line.starts_with("play #") {
        return line.to_string();
    }
    let Some(at) = line.rfind(" TAGS: [") else {
        return line.to_string();
    };
    let Some(inner) = line[at + 8..].strip_suffix(']') else {
        return line.to_string();
    };
    let mut tags: Vec<&str> = inner.split(',').filter(|t| !t.is_empty()).collect();
    tags.sort();
    format!("{} TAGS: [{}]", &line[..at], tags.join(","))
}

fn diff(ansible: &str, srplay: &str) -> String {
    let diff = similar::TextDiff::from_lines(ansible, srplay);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header("ansible", "srplay")
        .to_string();
    text.lines().map(|l| format!("    {l}\n")).collect()
}

fn indent(text: &str, lines: usize) -> String {
    text.lines()
        .take(lines)
        .map(|l| format!("    | {l}\n"))
        .collect()
}

/// The difference between ansible's and srplay's listing, if any.
fn compare(want: &Ran, got: &Ran) -> Option<String> {
    let (a, b) = (normalise(&want.stdout), normalise(&got.stdout));
    if a == b && want.rc == got.rc {
        return None;
    }
    let mut text = String::new();
    if want.rc != got.rc {
        let _ = writeln!(text, "  exit code: ansible {} srplay {}", want.rc, got.rc);
    }
    if a != b {
        text.push_str(&diff(&a, &b));
    }
    if want.rc != 0 {
        let _ = write!(text, "  ansible stderr:\n{}", indent(&want.stderr, 8));
    }
    if got.rc != 0 {
        let _ = write!(text, "  srplay stderr:\n{}", indent(&got.stderr, 8));
    }
    Some(text)
}

/// Ansible's output for each of `LISTINGS`, from one combined call (plus a
/// `--syntax-check` call when the listing failed).
fn ansible_listings(venv: &Path, ws: &Workspace, target: &Target) -> (Vec<Ran>, usize) {
    let all = LISTINGS.last().unwrap().1;
    let combined = ws.run(venv, Tool::Ansible, target, all);
    let mut calls = 1;
    let syntax = if combined.rc == 0 {
        Ran {
            stdout: split_listing(&combined.stdout, &["--syntax-check"]),
            ..combined.clone()
        }
    } else {
        calls += 1;
        ws.run(venv, Tool::Ansible, target, &["--syntax-check"])
    };
    let tasks_alone = if tags_change_task_list(target) {
        calls += 1;
        Some(ws.run(venv, Tool::Ansible, target, &["--list-tasks"]))
    } else {
        None
    };
    let listings = LISTINGS
        .iter()
        .map(|(_, flags)| {
            if flags == &["--syntax-check"] {
                syntax.clone()
            } else if let (["--list-tasks"], Some(ran)) = (*flags, &tasks_alone) {
                ran.clone()
            } else {
                Ran {
                    stdout: split_listing(&combined.stdout, flags),
                    ..combined.clone()
                }
            }
        })
        .collect();
    (listings, calls)
}

/// Whether `--list-tasks` alone may list other tasks than the combined call shows:
/// with `--list-tags` and neither `--tags` nor `--skip-tags`, ansible-playbook selects
/// `never,all` instead of `all`, which differ only for tasks tagged `never`, so only
/// a case whose files mention `never` needs its own `--list-tasks` call.
fn tags_change_task_list(target: &Target) -> bool {
    let tags_given = target
        .args
        .iter()
        .any(|a| a == "-t" || a.starts_with("--tags") || a.starts_with("--skip-tags"));
    !tags_given && (!target.copy || mentions(&target.dir, "never"))
}

/// Whether any file under `dir` contains `word`.
fn mentions(dir: &Path, word: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            mentions(&path, word)
        } else {
            std::fs::read_to_string(&path).is_ok_and(|text| text.contains(word))
        }
    })
}

/// Whether the split of ansible's combined output is checked against real
/// single-flag calls for this target.
fn verify_split(target: &Target) -> bool {
    match std::env::var("SRPLAY_LISTING_VERIFY").as_deref() {
        Ok("all") => true,
        _ => VERIFY_SAMPLE.contains(&target.name.as_str()),
    }
}

fn selected(targets: Vec<Target>) -> Vec<Target> {
    let filter = std::env::var("SRPLAY_LISTING_ONLY").unwrap_or_default();
    let wanted: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    targets
        .into_iter()
        .filter(|t| wanted.is_empty() || wanted.iter().any(|w| t.name.starts_with(w)))
        .collect()
}

/// A difference found: (playbook, listing, what differs).
type Difference = (String, String, String);

#[test]
fn listings_match_ansible() {
    let Some(venv) = find_ansible() else {
        let note = "listing_compat: ansible-playbook not found (set SRPLAY_ANSIBLE_VENV to a \
                    venv with ansible-core 2.19): skipped";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{note}, but CI=true"
        );
        eprintln!("{note}");
        return;
    };
    let started = Instant::now();
    let targets = selected(targets());
    assert!(
        !targets.is_empty(),
        "no playbook matches SRPLAY_LISTING_ONLY"
    );
    for (name, listing, _) in DELIBERATE {
        assert!(
            *listing == "*" || LISTINGS.iter().any(|(l, _)| l == listing),
            "DELIBERATE names an unknown listing {listing} for {name}"
        );
    }

    let workers = std::env::var("SRPLAY_LISTING_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, targets.len());
    let next = AtomicUsize::new(0);
    let differences = Mutex::new(Vec::<Difference>::new());
    let ansible_calls = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(target) = targets.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let ws = Workspace::new(target);
                    let (want, calls) = ansible_listings(&venv, &ws, target);
                    ansible_calls.fetch_add(calls, Ordering::SeqCst);
                    let mut found = Vec::new();
                    for ((listing, flags), want) in LISTINGS.iter().zip(&want) {
                        if verify_split(target) {
                            ansible_calls.fetch_add(1, Ordering::SeqCst);
                            let real = ws.run(&venv, Tool::Ansible, target, flags);
                            if let Some(d) = compare(&real, want) {
                                found.push((
                                    target.name.clone(),
                                    format!("{listing}: SPLIT OF ANSIBLE'S COMBINED OUTPUT"),
                                    format!(
                                        "  the split (right) differs from ansible's own \
                                         single-flag output (left):\n{d}"
                                    ),
                                ));
                            }
                        }
                        let got = ws.run(&venv, Tool::Srplay, target, flags);
                        if let Some(d) = compare(want, &got) {
                            found.push((target.name.clone(), listing.to_string(), d));
                        }
                    }
                    eprintln!(
                        "listing {:<52} {}",
                        target.name,
                        if found.is_empty() { "ok" } else { "DIFFERS" }
                    );
                    differences.lock().unwrap().extend(found);
                }
            });
        }
    });

    let mut differences = differences.into_inner().unwrap();
    differences.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut report = String::new();
    let mut used = vec![false; DELIBERATE.len()];
    for (name, listing, detail) in &differences {
        let deliberate = DELIBERATE
            .iter()
            .position(|(n, l, _)| n == name && (*l == "*" || l == listing));
        match deliberate {
            Some(i) => {
                used[i] = true;
                eprintln!(
                    "deliberate difference {name} [{listing}]: {}",
                    DELIBERATE[i].2
                );
            }
            None => {
                let _ = write!(report, "\n== {name} [{listing}]\n{detail}");
            }
        }
    }
    let only = std::env::var("SRPLAY_LISTING_ONLY").unwrap_or_default();
    for ((name, listing, why), used) in DELIBERATE.iter().zip(used) {
        if !used && only.is_empty() {
            let _ = write!(
                report,
                "\n== {name} [{listing}]\n  listed as deliberate ({why}) but no longer differs\n"
            );
        }
    }
    eprintln!(
        "listing_compat: {} playbooks x {} listings compared, {} ansible calls, {:.1}s",
        targets.len(),
        LISTINGS.len(),
        ansible_calls.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
    assert!(
        report.is_empty(),
        "listings differ from ansible's:\n{report}"
    );
}

#[test]
fn split_keeps_the_sections_each_flag_prints() {
    let combined = "\nplaybook: p.yml\n\n  play #1 (web): web\tTAGS: []\n    pattern: ['web']\n    \
                    hosts (2):\n      h2\n      h1\n    tasks:\n      t1\tTAGS: []\n      \
                    TASK TAGS: []\n";
    assert_eq!(
        split_listing(combined, &["--list-hosts"]),
        "\nplaybook: p.yml\n\n  play #1 (web): web\tTAGS: []\n    pattern: ['web']\n    \
         hosts (2):\n      h2\n      h1\n"
    );
    assert_eq!(
        split_listing(combined, &["--list-tasks"]),
        "\nplaybook: p.yml\n\n  play #1 (web): web\tTAGS: []\n    tasks:\n      t1\tTAGS: []\n"
    );
    assert_eq!(
        split_listing(combined, &["--list-tags"]),
        "\nplaybook: p.yml\n\n  play #1 (web): web\tTAGS: []\n      TASK TAGS: []\n"
    );
    assert_eq!(
        split_listing(combined, &["--syntax-check"]),
        "\nplaybook: p.yml\n\n"
    );
}

#[test]
fn normalise_compares_hosts_and_play_tags_as_sets() {
    assert_eq!(
        normalise("  play #1 (a): a\tTAGS: [y,x]\n    hosts (2):\n      h2\n      h1\n  x  y\n"),
        "play #1 (a): a TAGS: [x,y]\nhosts (2):\nh1\nh2\nx y\n"
    );
}

#[test]
fn only_listing_arguments_are_kept() {
    let args: Vec<String> = [
        "--list-tasks",
        "-e",
        "x=1",
        "-C",
        "--tags=a",
        "-l",
        "h1",
        "--diff",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(listing_args(&args), ["-e", "x=1", "--tags=a", "-l", "h1"]);
}
