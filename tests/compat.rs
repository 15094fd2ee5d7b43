//! Differential compatibility suite: every case under `tests/compat/cases/` runs under
//! the real `ansible-playbook` and under srplay, in fresh copies of the case, and the
//! two runs must agree on exit code, per-host task results, debug messages, recap and
//! produced files. See `tests/compat/README.md` for the case format.
//!
//! `SRPLAY_COMPAT_CASE=NN-name cargo test --test compat` runs one case (a comma list
//! or a prefix such as `3` works too); `SRPLAY_ANSIBLE_VENV` points at the venv that
//! holds ansible-core (default `/opt/ansible-venv`).

#[path = "compat/output.rs"]
mod output;
#[path = "support/rig.rs"]
mod rig;

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The names of the comparisons, as `deliberate:` keys in `case.yml` may name them.
const COMPARISONS: &[&str] = &["rc", "tasks", "msgs", "recap", "files", "secret", "stdout"];

struct Case {
    name: String,
    dir: PathBuf,
    playbook: String,
    args: Vec<String>,
    runs: usize,
    files: Vec<String>,
    /// Comparison name → why srplay deliberately differs there.
    deliberate: BTreeMap<String, String>,
    /// A string that must appear in neither output (`no_log` cases).
    secret: Option<String>,
    /// `list`: compare whole stdout lines modulo whitespace (`--list-*`, `--syntax-check`).
    list_mode: bool,
    /// With `runs: 2`, whether ansible's second run must report changed=0 (default true).
    idempotent: bool,
    /// The exit code ansible must give: guards the case itself against rot.
    rc: Option<i32>,
}

impl Case {
    fn load(dir: &Path) -> Case {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let spec_path = dir.join("case.yml");
        let spec = if spec_path.exists() {
            srplay::yaml::load_value_file(&spec_path)
                .unwrap_or_else(|e| panic!("{name}: bad case.yml: {e:?}"))
        } else {
            Value::Null
        };
        let strings = |key: &str| -> Vec<String> {
            spec.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(scalar_string).collect())
                .unwrap_or_default()
        };
        let playbook = match spec.get("playbook").and_then(Value::as_str) {
            Some(p) => p.to_string(),
            None if dir.join("site.yml").exists() => "site.yml".into(),
            None => "playbook.yml".into(),
        };
        let deliberate: BTreeMap<String, String> = spec
            .get("deliberate")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), scalar_string(v)))
                    .collect()
            })
            .unwrap_or_default();
        for key in deliberate.keys() {
            assert!(
                COMPARISONS.contains(&key.as_str()),
                "{name}: deliberate: unknown comparison {key}"
            );
        }
        Case {
            playbook,
            args: strings("args"),
            runs: spec.get("runs").and_then(Value::as_u64).unwrap_or(1) as usize,
            files: strings("files"),
            deliberate,
            secret: spec.get("secret").map(scalar_string),
            list_mode: spec.get("mode").and_then(Value::as_str) == Some("list"),
            idempotent: spec
                .get("idempotent")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            rc: spec.get("rc").and_then(Value::as_i64).map(|rc| rc as i32),
            dir: dir.to_path_buf(),
            name,
        }
    }
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One invocation of one tool, with everything normalised for comparison.
struct Run {
    rc: i32,
    /// stdout with the temp dir paths replaced by `<CASE>` and `<OUT>`.
    stdout: String,
    stderr: String,
    /// Listed files: path → `mode 0644\n<contents>`, `directory 0755`, `link -> t`, `missing`.
    files: BTreeMap<String, String>,
    elapsed: Duration,
}

#[derive(Clone, Copy)]
enum Tool {
    Ansible,
    Srplay,
}

struct Tools {
    ansible_venv: PathBuf,
    /// The inventory a case without its own gets (default: `compat/default-inventory`).
    inventory: Option<String>,
}

impl Tools {
    fn command(&self, tool: Tool) -> Command {
        match tool {
            Tool::Ansible => {
                let mut cmd = Command::new(self.ansible_venv.join("bin/ansible-playbook"));
                // Interpreter discovery can pick a broken python (pyenv shims): use the
                // venv's own. srplay runs no python, so it ignores this.
                cmd.env(
                    "ANSIBLE_PYTHON_INTERPRETER",
                    self.ansible_venv.join("bin/python3"),
                );
                cmd
            }
            Tool::Srplay => Command::new(env!("CARGO_BIN_EXE_srplay")),
        }
    }

    /// Run `tool` on a fresh copy of the case, `case.runs` times in the same out dir.
    fn run(&self, tool: Tool, case: &Case) -> Vec<Run> {
        let tmp = tempfile::Builder::new()
            .prefix("srplay-compat-")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (work, out, home) = (root.join("case"), root.join("out"), root.join("home"));
        support::copy_dir(&case.dir, &work);
        if !work.join("inventory").exists() {
            match &self.inventory {
                Some(text) => std::fs::write(work.join("inventory"), text).unwrap(),
                None => {
                    let default = Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/compat/default-inventory");
                    std::fs::copy(default, work.join("inventory")).unwrap();
                }
            }
        }
        for dir in [&out, &home] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let mut runs = Vec::new();
        for _ in 0..case.runs {
            let mut cmd = self.command(tool);
            cmd.current_dir(&work)
                .args(["-i", "inventory", &case.playbook, "-e"])
                .arg(format!("out={}", out.display()))
                .args(&case.args)
                .env("HOME", &home)
                .env("ANSIBLE_HOME", home.join(".ansible"))
                .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
                .env("ANSIBLE_REMOTE_TEMP", home.join("remote-tmp"))
                .env("TMPDIR", &home)
                .env("ANSIBLE_NOCOLOR", "1")
                .env("NO_COLOR", "1")
                .env("ANSIBLE_FORCE_COLOR", "0")
                .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
                .env("ANSIBLE_LOCALHOST_WARNING", "0")
                .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
                .env("ANSIBLE_STDOUT_CALLBACK", "default")
                .env("COMPAT_MARKER", "from-environment")
                .env_remove("ANSIBLE_CONFIG");
            let started = Instant::now();
            let (rc, stdout, stderr) = support::run_with_timeout(cmd, &root, RUN_TIMEOUT);
            let normalise = |s: String| {
                s.replace(&out.display().to_string(), "<OUT>")
                    .replace(&work.display().to_string(), "<CASE>")
                    .replace(&root.display().to_string(), "<TMP>")
            };
            runs.push(Run {
                rc,
                stdout: normalise(stdout),
                stderr: normalise(stderr),
                files: case
                    .files
                    .iter()
                    .map(|f| (f.clone(), support::describe_file(&out.join(f), &out)))
                    .collect(),
                elapsed: started.elapsed(),
            });
        }
        runs
    }
}

/// All differences between ansible's runs (`want`) and srplay's (`got`), readable.
fn compare(case: &Case, want: &[Run], got: &[Run]) -> String {
    let mut problems = String::new();
    let mut check = |what: &str, run: usize, ok: bool, detail: String| {
        if !ok && !case.deliberate.contains_key(what) {
            let _ = writeln!(problems, "  [{what}, run {}] {detail}", run + 1);
        }
    };
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        check(
            "rc",
            i,
            w.rc == g.rc,
            format!("exit code: ansible {} srplay {}", w.rc, g.rc),
        );
        if let Some(secret) = &case.secret {
            let leaked =
                |r: &Run| r.stdout.contains(secret.as_str()) || r.stderr.contains(secret.as_str());
            check(
                "secret",
                i,
                !leaked(g),
                format!("srplay printed the no_log secret {secret:?}"),
            );
        }
        if case.list_mode {
            let (a, b) = (squeeze(&w.stdout), squeeze(&g.stdout));
            check("stdout", i, a == b, diff(&a, &b));
            continue;
        }
        let (wr, gr) = (output::parse(&w.stdout), output::parse(&g.stdout));
        let hosts: std::collections::BTreeSet<_> =
            wr.events.keys().chain(gr.events.keys()).collect();
        for host in hosts {
            let list = |r: &output::Report, with_msg: bool| -> String {
                let events = r.events.get(host).map(Vec::as_slice).unwrap_or_default();
                events
                    .iter()
                    .map(|e| {
                        let e = output::Event {
                            msg: e.msg.clone().filter(|_| with_msg),
                            ..e.clone()
                        };
                        format!("{e}\n")
                    })
                    .collect()
            };
            let (a, b) = (list(&wr, false), list(&gr, false));
            check(
                "tasks",
                i,
                a == b,
                format!("results for {host}:\n{}", diff(&a, &b)),
            );
            if a == b {
                let (a, b) = (list(&wr, true), list(&gr, true));
                check(
                    "msgs",
                    i,
                    a == b,
                    format!("messages for {host}:\n{}", diff(&a, &b)),
                );
            }
        }
        let recap = |r: &output::Report| -> String {
            let counts = |c: &[(String, u64)]| -> String {
                c.iter().map(|(k, v)| format!(" {k}={v}")).collect()
            };
            r.recap
                .iter()
                .map(|(h, c)| format!("{h} :{}\n", counts(c)))
                .collect()
        };
        let (a, b) = (recap(&wr), recap(&gr));
        check("recap", i, a == b, format!("recap:\n{}", diff(&a, &b)));
        for (path, a) in &w.files {
            let b = &g.files[path];
            check("files", i, a == b, format!("file {path}:\n{}", diff(a, b)));
        }
    }
    if !problems.is_empty() {
        let last = got.last().unwrap();
        let tail: String = last
            .stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n  | ");
        let _ = writeln!(
            problems,
            "  srplay stderr (last lines, reversed):\n  | {tail}"
        );
        // The failures' own words: the task lists above say only that one failed.
        for run in got {
            for line in run.stdout.lines().filter(|l| l.starts_with("fatal: ")) {
                let shown: String = line.chars().take(400).collect();
                let _ = writeln!(problems, "  srplay: {shown}");
            }
        }
    }
    problems
}

/// Lines with runs of whitespace collapsed and blank lines dropped.
/// Lines with whitespace squeezed, for `--list-*` output. The hosts under
/// `hosts (N):` are sorted: ansible-playbook lists them in set order, which changes
/// from run to run with Python's hash seed.
fn squeeze(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let count = lines[i]
            .strip_prefix("hosts (")
            .and_then(|rest| rest.strip_suffix("):"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(n) = count {
            let end = (i + 1 + n).min(lines.len());
            lines[i + 1..end].sort();
            i = end;
        } else {
            i += 1;
        }
    }
    lines.into_iter().map(|l| l + "\n").collect()
}

fn diff(ansible: &str, srplay: &str) -> String {
    let diff = similar::TextDiff::from_lines(ansible, srplay);
    let text = diff
        .unified_diff()
        .context_radius(4)
        .header("ansible", "srplay")
        .to_string();
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Checks a case against ansible's own run: the case must do what its author meant.
fn check_ansible(case: &Case, runs: &[Run]) -> Option<String> {
    let first = &runs[0];
    let mut problems = String::new();
    if let Some(rc) = case.rc
        && first.rc != rc
    {
        let _ = writeln!(
            problems,
            "  ansible exited {} (case.yml says rc: {rc})",
            first.rc
        );
    }
    if runs.len() > 1 && case.idempotent {
        for (host, counts) in output::parse(&runs[1].stdout).recap {
            if counts.iter().any(|(k, v)| k == "changed" && *v != 0) {
                let _ = writeln!(
                    problems,
                    "  ansible's second run is not idempotent on {host}"
                );
            }
        }
    }
    if let Some(secret) = &case.secret
        && (first.stdout.contains(secret.as_str()) || first.stderr.contains(secret.as_str()))
    {
        let _ = writeln!(problems, "  ansible printed the secret: the case is wrong");
    }
    if problems.is_empty() {
        return None;
    }
    let _ = writeln!(problems, "  ansible stdout:\n{}", indent(&first.stdout));
    let _ = writeln!(problems, "  ansible stderr:\n{}", indent(&first.stderr));
    Some(problems)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    | {l}\n")).collect()
}

fn selected_cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/cases");
    let filter = std::env::var("SRPLAY_COMPAT_CASE").unwrap_or_default();
    let wanted: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            wanted.is_empty() || wanted.iter().any(|w| name.starts_with(w))
        })
        .collect();
    dirs.sort();
    dirs.iter().map(|d| Case::load(d)).collect()
}

#[test]
fn compat() {
    let Some(ansible_venv) = ansible_or_skip() else {
        return;
    };
    let tools = Tools {
        ansible_venv,
        inventory: None,
    };
    let cases = selected_cases();
    assert!(!cases.is_empty(), "no case matches SRPLAY_COMPAT_CASE");
    run_cases(&tools, &cases, "compat");
}

/// The module cases again, with `h1` and `h2` reached over SSH (rig hosts, on this
/// machine, so `{{ out }}` is the same directory): the same results as Ansible's
/// over its ssh connection.
const SSH_CASES: &[&str] = &[
    "52-", "53-", "71-", "100-", "101-", "102-", "103-", "104-", "105-", "106-", "107-", "108-",
    "130-", "132-", "134-",
];

#[test]
fn compat_over_ssh() {
    let Some(ansible_venv) = ansible_or_skip() else {
        return;
    };
    let Some(rig) = rig::Rig::start_or_skip(2) else {
        return;
    };
    let cases: Vec<Case> = selected_cases()
        .into_iter()
        .filter(|c| SSH_CASES.iter().any(|p| c.name.starts_with(p)))
        .filter(|c| !c.dir.join("inventory").exists())
        .collect();
    if cases.is_empty() {
        return;
    }
    let (a, k, kh) = (
        rig.addresses(),
        rig.key_path().display().to_string(),
        rig.known_hosts_path().display().to_string(),
    );
    let ssh = |host: usize| {
        format!(
            "ansible_host={} ansible_user=root ansible_ssh_private_key_file={k} \
             ansible_ssh_common_args='-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes'",
            a[host]
        )
    };
    let inventory = format!(
        "localhost ansible_connection=local\n[web]\nh1 {} color=red http_port=8001\n\
         h2 {} color=blue http_port=8002\n[web:vars]\ntier=frontend\n",
        ssh(0),
        ssh(1)
    );
    let tools = Tools {
        ansible_venv,
        inventory: Some(inventory),
    };
    run_cases(&tools, &cases, "compat over ssh");
}

fn ansible_or_skip() -> Option<PathBuf> {
    let venv = support::find_ansible();
    if venv.is_none() {
        let note = "compat: ansible-playbook not found (set SRPLAY_ANSIBLE_VENV to a venv with \
                    ansible-core 2.19, or run .ci/run): suite skipped";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{note}, but CI=true"
        );
        eprintln!("{note}");
    }
    venv
}

/// Run the cases with both tools and fail with every difference found.
fn run_cases(tools: &Tools, cases: &[Case], label: &str) {
    // Cases run on a few worker threads; each worker runs ansible then srplay for one
    // case at a time. Ansible dominates, and it is mostly CPU: one worker per core.
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(cases.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<(String, String)>::new());
    let ansible_time = Mutex::new(Duration::ZERO);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let want = tools.run(Tool::Ansible, case);
                    let got = tools.run(Tool::Srplay, case);
                    let spent: Duration = want.iter().map(|r| r.elapsed).sum();
                    *ansible_time.lock().unwrap() += spent;
                    let problems = match check_ansible(case, &want) {
                        Some(p) => format!("  THE CASE ITSELF IS BROKEN under ansible:\n{p}"),
                        None => compare(case, &want, &got),
                    };
                    let verdict = if problems.is_empty() { "ok" } else { "FAILED" };
                    let srplay: Duration = got.iter().map(|r| r.elapsed).sum();
                    eprintln!(
                        "{label} {:<32} ansible {:>5.1}s  srplay {:>5.2}s  {verdict}",
                        case.name,
                        spent.as_secs_f64(),
                        srplay.as_secs_f64()
                    );
                    if !problems.is_empty() {
                        failures.lock().unwrap().push((case.name.clone(), problems));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    eprintln!(
        "{label}: {} cases, {} failed, ansible time {:.1}s",
        cases.len(),
        failures.len(),
        ansible_time.into_inner().unwrap().as_secs_f64()
    );
    if !failures.is_empty() {
        let mut report = String::new();
        for (name, problems) in &failures {
            let _ = writeln!(report, "\n=== {name}\n{problems}");
        }
        let names: Vec<_> = failures.iter().map(|(n, _)| n.as_str()).collect();
        panic!(
            "{report}\n{} of {} {label} cases failed: {}",
            failures.len(),
            cases.len(),
            names.join(" ")
        );
    }
}

#[test]
fn parser_reads_ansible_sample() {
    let sample = include_str!("compat/samples/mixed.txt");
    let report = output::parse(sample);
    let h1: Vec<String> = report.events["h1"].iter().map(|e| e.to_string()).collect();
    assert_eq!(
        h1,
        [
            "PLAY all / TASK debug => ok msg=hi h1",
            "PLAY all / TASK command => changed (item=1)",
            "PLAY all / TASK command => changed (item=2)",
            "PLAY all / TASK fail => ignored",
            "PLAY all / TASK include_tasks => included",
            "PLAY all / TASK debug => ok msg=inc",
            "PLAY all / TASK command => skipping",
            "PLAY all / TASK debug => ok -> localhost msg=after",
            "PLAY all / TASK loop failure => ignored (item={'a': 1})",
            "PLAY all / TASK loop failure => ok (item=b) msg=All assertions passed",
            "PLAY all / TASK until => retrying",
            "PLAY all / TASK until => ok",
            "PLAY all / TASK command => changed",
            "PLAY all / HANDLER restart => changed",
        ]
    );
    assert_eq!(report.events["h2"][4].status, "included");
    assert_eq!(report.events["h2"][6].status, "fatal");
    assert_eq!(
        report.recap["h2"],
        [
            ("ok", 4),
            ("changed", 1),
            ("unreachable", 0),
            ("failed", 1),
            ("skipped", 1),
            ("rescued", 0),
            ("ignored", 0)
        ]
        .map(|(k, v)| (k.to_string(), v))
    );
}

#[test]
fn parser_ignores_error_blocks_and_warnings() {
    let included = output::parse("TASK [i] ***\nincluded: cache for h1, h2 => (item=1)\n");
    assert_eq!(
        included.events["h2"][0].to_string(),
        "PLAY  / TASK i => included (item=1)"
    );
    let sample = "[WARNING]: ok: [h9] is not a result\nTASK [t] ***\n[ERROR]: Task failed\nOrigin: x\n\n3   - ok: [h1]\n\nfatal: [h1]: UNREACHABLE! => {\"msg\": \"x\"}\n";
    let report = output::parse(sample);
    assert_eq!(report.events.keys().collect::<Vec<_>>(), ["h1"]);
    assert_eq!(report.events["h1"][0].status, "unreachable");
}
