//! Structure-aware fuzzing of srplay's input handling, on stable Rust.
//!
//! cargo-fuzz needs a nightly toolchain, so this harness is coverage-agnostic: it
//! feeds the targets a mix of (a) byte/char-level mutations of a seed corpus read
//! from the repository (the compat cases, `examples/`, the inventory fixtures) and
//! (b) inputs generated from small grammars of plays, Jinja2 expressions and
//! templates, variables that hold templates, INI inventories and `k=v` strings.
//!
//! Targets: the YAML loader, the playbook loader (with roles, role dependencies and
//! included task files), the template renderer (`render_str`, `render_value`,
//! `eval`, `condition`, `render_file`) over lazily templated variables, `parse_kv`
//! and the inventory loader with host patterns.
//!
//! Every input runs on a worker thread inside `catch_unwind`; a panic is recorded
//! and the run goes on, an input that takes longer than the time limit is recorded
//! as a hang and stops the run (the thread cannot be killed). Each finding is saved
//! under `target/fuzz-failures/` together with the seed that regenerates it.
//!
//! - `cargo test --test fuzz`: a quick deterministic run over every target.
//! - `SRPLAY_FUZZ_SECS=300 cargo test --release --test fuzz -- --nocapture` (or
//!   `hack/fuzz`): a long run with a time-based seed (`SRPLAY_FUZZ_SEED` fixes it).
//! - `SRPLAY_FUZZ_REPLAY=template:0x1234` regenerates and runs one input, printing it.
//! - `SRPLAY_FUZZ_ITERS=N` sets the quick run's iterations per target.
//!
//! A stack overflow aborts the process and cannot be caught: the input being run is
//! always in `target/fuzz-failures/last-input.txt`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use srplay::modules::TemplateOptions;
use srplay::template::{Scope, Templar};
use srplay::value::{Map, Value};
use srplay::vars::VarStack;

/// Longest input handed to a target, in characters.
const MAX_INPUT_CHARS: usize = 48 * 1024;
/// Deepest nesting a generator produces.
const MAX_DEPTH: usize = 40;
/// Iterations per target of the quick run that `cargo test` does.
const QUICK_ITERS_PER_TARGET: u64 = 100;
/// The quick run's seed, so that `cargo test` is reproducible.
const QUICK_SEED: u64 = 0x5eed_f022_2024_0001;

// ---------------------------------------------------------------------------
// Randomness: SplitMix64, enough for fuzzing and reproducible from a seed.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `num`/`den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

/// The seed of the `i`th input of a run.
fn case_seed(run_seed: u64, i: u64) -> u64 {
    Rng::new(run_seed ^ i.wrapping_mul(0xa076_1d64_78bd_642f)).next_u64()
}

// ---------------------------------------------------------------------------
// Targets and inputs.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Yaml,
    Playbook,
    Template,
    Kv,
    Inventory,
}

const TARGETS: [Target; 5] = [
    Target::Yaml,
    Target::Playbook,
    Target::Template,
    Target::Kv,
    Target::Inventory,
];

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Yaml => "yaml",
            Target::Playbook => "playbook",
            Target::Template => "template",
            Target::Kv => "kv",
            Target::Inventory => "inventory",
        }
    }

    fn from_name(name: &str) -> Option<Target> {
        TARGETS.into_iter().find(|t| t.name() == name)
    }
}

/// One input: named text parts (files of a playbook tree, a template and its
/// variables...), regenerated exactly from `target` and `seed`.
#[derive(Clone)]
struct Case {
    target: Target,
    seed: u64,
    parts: Vec<(String, String)>,
}

impl Case {
    fn new(target: Target, seed: u64) -> Case {
        Case {
            target,
            seed,
            parts: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, text: String) {
        self.parts.push((name.to_string(), text));
    }

    fn part(&self, name: &str) -> &str {
        self.parts
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, t)| t.as_str())
    }

    /// The input as a human reads it (saved for findings).
    fn describe(&self) -> String {
        let mut out = format!(
            "# target: {}\n# replay: SRPLAY_FUZZ_REPLAY={}:{:#x} cargo test --test fuzz -- --nocapture\n",
            self.target.name(),
            self.target.name(),
            self.seed
        );
        for (name, text) in &self.parts {
            let _ = writeln!(out, "----- {name} ({} chars) -----", text.chars().count());
            out.push_str(text);
            out.push('\n');
        }
        out
    }
}

// ---------------------------------------------------------------------------
// The seed corpus, read from the repository at run time.

#[derive(Default)]
struct Corpus {
    yaml: Vec<String>,
    templates: Vec<String>,
    exprs: Vec<String>,
    inventories: Vec<String>,
    kv: Vec<String>,
}

impl Corpus {
    fn load() -> Corpus {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["tests/compat", "examples", "tests/fixtures/inventory"] {
            walk(&root.join(dir), &mut files);
        }
        files.sort();
        let mut corpus = Corpus::default();
        for path in files {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            match ext {
                "yml" | "yaml" => {
                    corpus.harvest_yaml_lines(&text);
                    corpus.yaml.push(text);
                }
                "j2" => corpus.templates.push(text),
                "ini" => corpus.inventories.push(text),
                "" if name.contains("inventory") || name == "01-hosts" => {
                    corpus.inventories.push(text)
                }
                _ => {}
            }
        }
        assert!(
            corpus.yaml.len() > 20 && !corpus.templates.is_empty(),
            "the seed corpus is missing: expected tests/compat/cases and examples"
        );
        assert!(!corpus.inventories.is_empty(), "no inventory seeds found");
        corpus
    }

    /// Template strings, expressions and `k=v` strings found in YAML values.
    fn harvest_yaml_lines(&mut self, text: &str) {
        for line in text.lines() {
            let value = line
                .split_once(": ")
                .map_or(line.trim_start_matches([' ', '-']), |(_, v)| v)
                .trim()
                .trim_matches(['"', '\'']);
            if value.contains("{{") || value.contains("{%") {
                self.templates.push(value.to_string());
                let mut rest = value;
                while let Some(start) = rest.find("{{") {
                    let Some(end) = rest[start..].find("}}") else {
                        break;
                    };
                    self.exprs
                        .push(rest[start + 2..start + end].trim().to_string());
                    rest = &rest[start + end + 2..];
                }
            } else if line.trim_start().starts_with("when:")
                || line.trim_start().starts_with("that:")
            {
                self.exprs.push(value.to_string());
            }
            if value.contains('=') {
                self.kv.push(value.to_string());
            }
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------
// Mutations.

/// Fragments that tend to matter to YAML, Jinja2, INI and `k=v` parsers.
const TOKENS: &[&str] = &[
    "\t",
    "'",
    "\"",
    "{{",
    "{%",
    "}}",
    "%}",
    "{#",
    "#}",
    "|",
    ":",
    ": ",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    "*",
    "&",
    "!",
    "?",
    "#",
    ",",
    "\\",
    "\n",
    "\r\n",
    "\r",
    " ",
    "    ",
    "é",
    "日本語",
    "🦀",
    "\u{0}",
    "\u{feff}",
    "\u{202e}",
    "\u{300}",
    "%",
    "@",
    "`",
    ">",
    ">-",
    "|-",
    "|+",
    "<<: *a",
    "*a",
    "&a ",
    "!!str ",
    "!!int ",
    "!!map",
    "!unsafe ",
    "!vault |",
    "---\n",
    "...\n",
    "=",
    "k=v",
    "\\n",
    "\\x",
    "\\u12",
    "\\U0001F980",
    "\\777",
    "[1:3]",
    "[::-1]",
    "[:",
    "~",
    "**",
    "//",
    "0x",
    "1e308",
    "-0",
    "nan",
    ".inf",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "{{ a }}",
    "{% if a %}",
    "{% endif %}",
    "{% for x in a %}",
    "{% endfor %}",
    "{%- ",
    " -%}",
    "lookup('vars', ",
    "(",
    ")",
    "None",
    "null",
    "yes",
    "no",
    "on",
    "\"\"\"",
    "${",
    "$(",
    ";",
    ".",
    "..",
    "/",
    "..\\",
    "_raw_params",
    "when: ",
    "loop: ",
    "block:",
    "roles:",
    "tasks:",
    "include_tasks: ",
    "import_tasks: ",
    "import_playbook: ",
    "hosts: ",
    ":children]",
    ":vars]",
    "[g]",
    "h[1:3]",
    "h[a:c]",
    "ansible_host=",
    "ansible_port=",
    "|default(",
    "|int",
    "| map(",
    "is defined",
    " not ",
    " in ",
    " if ",
    " else ",
    "{{ self_ref }}",
    "{{ vars }}",
    "hostvars[",
];

fn mutate(rng: &mut Rng, text: &str, donors: &[String]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = chars.len();
        let pos = if len == 0 { 0 } else { rng.below(len + 1) };
        let span = |rng: &mut Rng| 1 + rng.below(1 + len.min(64));
        match rng.below(12) {
            0..=2 => {
                let token: Vec<char> = rng.pick(TOKENS).chars().collect();
                chars.splice(pos..pos, token);
            }
            3 => {
                let end = (pos + span(rng)).min(len);
                chars.drain(pos..end);
            }
            4 => {
                let end = (pos + span(rng)).min(len);
                let chunk: Vec<char> = chars[pos..end].to_vec();
                let at = rng.below(chars.len() + 1);
                chars.splice(at..at, chunk);
            }
            5 => {
                // Move a chunk elsewhere.
                let end = (pos + span(rng)).min(len);
                let chunk: Vec<char> = chars.drain(pos..end).collect();
                let at = rng.below(chars.len() + 1);
                chars.splice(at..at, chunk);
            }
            6 => {
                // A long line or deep nesting.
                let (token, max) = *rng.pick(&[
                    ("a", 4000),
                    ("{{ x }}", 300),
                    ("[", MAX_DEPTH),
                    ("{", MAX_DEPTH),
                    ("(", MAX_DEPTH),
                    ("- ", MAX_DEPTH),
                    ("  ", MAX_DEPTH),
                    ("{{ ", 20),
                    ("a.", 200),
                    ("|upper", 100),
                    ("\\", 200),
                    ("'", 50),
                ]);
                let n = 1 + rng.below(max);
                let repeated: Vec<char> = token.repeat(n).chars().collect();
                chars.splice(pos..pos, repeated);
            }
            7 => {
                // Splice in a piece of another seed.
                if let Some(donor) = donors.get(rng.below(donors.len().max(1))) {
                    let donor: Vec<char> = donor.chars().collect();
                    if !donor.is_empty() {
                        let a = rng.below(donor.len());
                        let b = (a + 1 + rng.below(200)).min(donor.len());
                        chars.splice(pos..pos, donor[a..b].iter().copied());
                    }
                }
            }
            8 => {
                // Re-indent a line (spaces or a tab).
                let start = chars[..pos]
                    .iter()
                    .rposition(|&c| c == '\n')
                    .map_or(0, |p| p + 1);
                let indent: Vec<char> = match rng.below(4) {
                    0 => vec!['\t'],
                    1 => vec![' '; 1 + rng.below(8)],
                    2 => vec![' '],
                    _ => vec![' ', ' '],
                };
                if rng.chance(1, 2) {
                    chars.splice(start..start, indent);
                } else {
                    let strip = chars[start..].iter().take_while(|&&c| c == ' ').count();
                    chars.drain(start..start + strip.min(2));
                }
            }
            9 => {
                chars.truncate(pos);
            }
            10 => {
                // Replace one character with an odd one.
                if pos < len {
                    chars[pos] = *rng.pick(&[
                        '\u{0}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}', 'ß', 'İ', 'ﬀ', '0', '9',
                        '-', '.', ' ', '"', '\'', '}', '{', '%', '#', '\\', ':', '=',
                    ]);
                }
            }
            _ => {
                // Swap a digit run for an extreme number.
                let big = *rng.pick(&[
                    "0",
                    "-1",
                    "99999",
                    "4294967296",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "1e400",
                    "0.0000001",
                    "007",
                    "0b11",
                    "1_000",
                ]);
                if let Some(at) = chars[pos.min(len)..]
                    .iter()
                    .position(|c| c.is_ascii_digit())
                {
                    let at = pos.min(len) + at;
                    let end = at
                        + chars[at..]
                            .iter()
                            .take_while(|c| c.is_ascii_digit())
                            .count();
                    chars.splice(at..end, big.chars());
                }
            }
        }
        chars.truncate(MAX_INPUT_CHARS);
    }
    chars.into_iter().collect()
}

// ---------------------------------------------------------------------------
// A small YAML emitter for generated data (block style, flow style, or JSON).

fn yaml_scalar(rng: &mut Rng, v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " _./=-".contains(c))
                && !s.starts_with(['-', ' ', '.'])
                && !s.ends_with(' ');
            if plain && rng.chance(3, 4) {
                s.clone()
            } else if !s.contains(['\'', '\n']) && rng.chance(1, 2) {
                format!("'{s}'")
            } else {
                serde_json::to_string(s).unwrap()
            }
        }
        other => other.to_string(),
    }
}

fn to_yaml(rng: &mut Rng, v: &Value) -> String {
    let mut out = String::new();
    emit(rng, v, 0, &mut out);
    out
}

fn emit(rng: &mut Rng, v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, item) in map {
                let _ = write!(out, "{pad}{}:", yaml_scalar(rng, &Value::String(k.clone())));
                emit_child(rng, item, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match item {
                    Value::Object(map) if !map.is_empty() && rng.chance(4, 5) => {
                        // `- key: value` with the other keys aligned under the first.
                        let mut first = true;
                        for (k, inner) in map {
                            if first {
                                let _ = write!(out, "{pad}- ");
                                first = false;
                            } else {
                                let _ = write!(out, "{pad}  ");
                            }
                            let _ = write!(out, "{}:", yaml_scalar(rng, &Value::String(k.clone())));
                            emit_child(rng, inner, indent + 2, out);
                        }
                    }
                    _ => {
                        let _ = write!(out, "{pad}-");
                        emit_child(rng, item, indent, out);
                    }
                }
            }
        }
        _ => {
            let _ = writeln!(out, "{pad}{}", flow(rng, v));
        }
    }
}

fn emit_child(rng: &mut Rng, v: &Value, indent: usize, out: &mut String) {
    let nested = matches!(v, Value::Object(m) if !m.is_empty())
        || matches!(v, Value::Array(a) if !a.is_empty());
    if nested && rng.chance(9, 10) {
        out.push('\n');
        emit(rng, v, indent + 2, out);
    } else if let Value::String(s) = v
        && s.contains('\n')
        && rng.chance(1, 2)
    {
        let _ = writeln!(out, " |");
        for line in s.lines() {
            let _ = writeln!(out, "{}  {line}", " ".repeat(indent));
        }
    } else {
        let _ = writeln!(out, " {}", flow(rng, v));
    }
}

/// A value in flow style (`[a, b]`, `{k: v}`).
fn flow(rng: &mut Rng, v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, item)| {
                    format!("{}: {}", serde_json::to_string(k).unwrap(), flow(rng, item))
                })
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|i| flow(rng, i)).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::String(s) => serde_json::to_string(s).unwrap(),
        other => yaml_scalar(rng, other),
    }
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

// ---------------------------------------------------------------------------
// Jinja2 grammar.

const VAR_NAMES: &[&str] = &[
    "a",
    "b",
    "c",
    "n",
    "f",
    "s",
    "items",
    "nested",
    "users",
    "empty",
    "flag",
    "self_ref",
    "loop_a",
    "loop_b",
    "deep",
    "text",
    "undefined_x",
    "omit",
    "hostvars",
    "vars",
    "inventory_hostname",
    "groups",
];

const ATTRS: &[&str] = &["x", "y", "name", "key", "value", "0", "items", "k1", "list"];

/// Filters with how many positional arguments they take at most.
const FILTERS: &[(&str, usize)] = &[
    ("default", 2),
    ("d", 1),
    ("int", 2),
    ("float", 1),
    ("string", 0),
    ("bool", 0),
    ("length", 0),
    ("count", 0),
    ("first", 0),
    ("last", 0),
    ("min", 0),
    ("max", 0),
    ("sum", 0),
    ("sort", 0),
    ("reverse", 0),
    ("list", 0),
    ("lower", 0),
    ("upper", 0),
    ("capitalize", 0),
    ("title", 0),
    ("trim", 0),
    ("replace", 2),
    ("split", 1),
    ("join", 1),
    ("map", 2),
    ("select", 2),
    ("reject", 2),
    ("selectattr", 3),
    ("rejectattr", 3),
    ("combine", 2),
    ("regex_replace", 2),
    ("regex_search", 2),
    ("regex_findall", 1),
    ("regex_escape", 0),
    ("to_json", 0),
    ("to_nice_json", 0),
    ("from_json", 0),
    ("to_yaml", 0),
    ("to_nice_yaml", 0),
    ("from_yaml", 0),
    ("from_yaml_all", 0),
    ("b64encode", 0),
    ("b64decode", 0),
    ("hash", 1),
    ("checksum", 0),
    ("md5", 0),
    ("sha1", 0),
    ("version", 2),
    ("version_compare", 2),
    ("ternary", 3),
    ("mandatory", 1),
    ("flatten", 1),
    ("zip", 1),
    ("zip_longest", 1),
    ("product", 1),
    ("permutations", 1),
    ("combinations", 1),
    ("dict2items", 0),
    ("items2dict", 0),
    ("subelements", 1),
    ("extract", 1),
    ("quote", 0),
    ("ipaddr", 1),
    ("ipv4", 1),
    ("ipwrap", 0),
    ("random", 1),
    ("shuffle", 0),
    ("unique", 0),
    ("union", 1),
    ("difference", 1),
    ("intersect", 1),
    ("symmetric_difference", 1),
    ("type_debug", 0),
    ("comment", 1),
    ("center", 1),
    ("wordcount", 0),
    ("round", 2),
    ("abs", 0),
    ("human_readable", 0),
    ("human_to_bytes", 0),
    ("to_uuid", 0),
    ("truncate", 2),
    ("urlencode", 0),
    ("basename", 0),
    ("dirname", 0),
    ("splitext", 0),
    ("path_join", 0),
    ("batch", 1),
    ("slice", 1),
    ("groupby", 1),
    ("dictsort", 0),
    ("items", 0),
    ("indent", 2),
    ("format", 2),
    ("tojson", 0),
    ("escape", 0),
    ("safe", 0),
    ("attr", 1),
    ("unique", 0),
];

const TESTS: &[(&str, usize)] = &[
    ("defined", 0),
    ("undefined", 0),
    ("none", 0),
    ("number", 0),
    ("string", 0),
    ("mapping", 0),
    ("sequence", 0),
    ("iterable", 0),
    ("boolean", 0),
    ("integer", 0),
    ("float", 0),
    ("even", 0),
    ("odd", 0),
    ("divisibleby", 1),
    ("match", 1),
    ("search", 1),
    ("regex", 1),
    ("version", 2),
    ("subset", 1),
    ("superset", 1),
    ("in", 1),
    ("truthy", 0),
    ("falsy", 0),
    ("lower", 0),
    ("upper", 0),
    ("eq", 1),
    ("sameas", 1),
    ("failed", 0),
    ("succeeded", 0),
    ("changed", 0),
    ("skipped", 0),
    ("any", 0),
    ("all", 0),
    ("nan", 0),
    ("abs", 0),
];

const METHODS: &[(&str, usize)] = &[
    ("split", 1),
    ("rsplit", 2),
    ("splitlines", 0),
    ("strip", 1),
    ("lstrip", 0),
    ("upper", 0),
    ("lower", 0),
    ("startswith", 1),
    ("endswith", 1),
    ("replace", 2),
    ("format", 2),
    ("count", 1),
    ("find", 1),
    ("index", 1),
    ("join", 1),
    ("items", 0),
    ("keys", 0),
    ("values", 0),
    ("get", 2),
    ("append", 1),
    ("extend", 1),
    ("update", 1),
    ("pop", 1),
    ("copy", 0),
    ("title", 0),
    ("isdigit", 0),
    ("zfill", 1),
];

const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "**", "~", "and", "or", "==", "!=", "<", "<=", ">", ">=", "in",
    "not in",
];

const REGEXES: &[&str] = &[
    "'^a'",
    "'(a+)+$'",
    "'[0-9]+'",
    "'\\\\d'",
    "'(?P<x>.)'",
    "'['",
    "'\\\\'",
    "''",
    "'.*'",
    "'(?i)A'",
    "'\\\\1'",
];

fn literal(rng: &mut Rng, depth: usize) -> String {
    match rng.below(14) {
        0 => rng.int(-5, 50).to_string(),
        1 => format!("{}.{}", rng.int(-3, 9), rng.below(100)),
        2 => rng
            .pick(&["true", "false", "none", "True", "False", "None"])
            .to_string(),
        3 => rng
            .pick(&[
                "''",
                "'a'",
                "'x,y,z'",
                "'1.2.3'",
                "'10.0.0.1/24'",
                "'::1'",
                "'a b'",
                "'é'",
                "'{{ a }}'",
                "\"q\\\"t\"",
                "'key=value'",
                "'42'",
                "'yes'",
                "'[1, 2]'",
                "'{\"k\": 1}'",
                "'a: [b'",
                "'  padded '",
                "'%s-%d'",
                "'a\\nb'",
                "'192.168.0.300'",
            ])
            .to_string(),
        4 | 5 if depth > 0 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| expr(rng, depth - 1)).collect();
            format!("[{}]", items.join(", "))
        }
        6 if depth > 0 => {
            let n = rng.below(3);
            let items: Vec<String> = (0..n)
                .map(|_| format!("'{}': {}", rng.pick(ATTRS), expr(rng, depth - 1)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        7 => format!("'{}'", rng.pick(VAR_NAMES)),
        8 => rng.pick(REGEXES).to_string(),
        _ => rng.int(0, 9).to_string(),
    }
}

fn variable(rng: &mut Rng) -> String {
    let mut v = rng.pick(VAR_NAMES).to_string();
    for _ in 0..rng.below(3) {
        match rng.below(3) {
            0 => {
                let _ = write!(v, ".{}", rng.pick(ATTRS));
            }
            1 => {
                let _ = write!(v, "[{}]", rng.int(-2, 3));
            }
            _ => {
                let _ = write!(v, "['{}']", rng.pick(ATTRS));
            }
        }
    }
    v
}

fn args(rng: &mut Rng, max: usize, depth: usize) -> String {
    let n = rng.below(max + 1);
    let mut items: Vec<String> = (0..n).map(|_| arg(rng, depth)).collect();
    if rng.chance(1, 8) {
        items.push(format!(
            "{}={}",
            rng.pick(&[
                "recursive",
                "attribute",
                "default",
                "wantlist",
                "errors",
                "count"
            ]),
            arg(rng, depth)
        ));
    }
    items.join(", ")
}

fn arg(rng: &mut Rng, depth: usize) -> String {
    if rng.chance(1, 3) {
        rng.pick(&[
            "'upper'",
            "'int'",
            "'defined'",
            "'x'",
            "'name'",
            "'sha256'",
            "'md5'",
            "'a'",
            "'version'",
            "'>='",
            "'<'",
            "'semver'",
            "'address'",
            "'2'",
            "true",
            "1",
            "2",
        ])
        .to_string()
    } else if depth > 0 {
        expr(rng, depth - 1)
    } else {
        literal(rng, 0)
    }
}

const LOOKUPS: &[&str] = &[
    "lookup('vars', 'a')",
    "lookup('vars', 'self_ref')",
    "lookup('vars', 'missing', default=1)",
    "lookup('env', 'HOME')",
    "lookup('env', 'SRPLAY_NOPE', default='d')",
    "lookup('items', [1, 2, 3])",
    "query('items', items)",
    "lookup('sequence', 'start=1 end=5')",
    "query('sequence', 'start=0 end=20 stride=3 format=x%02d')",
    "lookup('sequence', 'count=3')",
    "lookup('sequence', '5-1/-1')",
    "query('dict', nested)",
    "lookup('dict', {'a': 1})",
    "query('indexed_items', items)",
    "lookup('indexed_items', ['a'])",
    "q('vars', 'nested', 'a')",
    "lookup('nonexistent_plugin', 'x')",
];

fn expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.chance(1, 4) {
        return if rng.chance(1, 2) {
            variable(rng)
        } else {
            literal(rng, depth)
        };
    }
    let d = depth - 1;
    match rng.below(16) {
        0..=3 => {
            let (name, max) = *rng.pick(FILTERS);
            let a = args(rng, max, d.min(2));
            if a.is_empty() && rng.chance(1, 2) {
                format!("{} | {name}", expr(rng, d))
            } else {
                format!("{} | {name}({a})", expr(rng, d))
            }
        }
        4 => {
            let (name, max) = *rng.pick(TESTS);
            let not = if rng.chance(1, 3) { "not " } else { "" };
            let a = args(rng, max, d.min(1));
            if max == 0 || a.is_empty() {
                format!("{} is {not}{name}", expr(rng, d))
            } else {
                format!("{} is {not}{name}({a})", expr(rng, d))
            }
        }
        5 | 6 => {
            let op = *rng.pick(BINOPS);
            let right = if op == "**" {
                rng.int(-2, 5).to_string()
            } else {
                expr(rng, d)
            };
            format!("{} {op} {right}", expr(rng, d))
        }
        7 => format!("({})", expr(rng, d)),
        8 => format!("{}{}", rng.pick(&["not ", "-", "+"]), expr(rng, d)),
        9 => {
            let part = |rng: &mut Rng| {
                if rng.chance(1, 3) {
                    String::new()
                } else {
                    rng.int(-4, 4).to_string()
                }
            };
            if rng.chance(1, 2) {
                format!("{}[{}:{}]", expr(rng, d), part(rng), part(rng))
            } else {
                format!(
                    "{}[{}:{}:{}]",
                    expr(rng, d),
                    part(rng),
                    part(rng),
                    part(rng)
                )
            }
        }
        10 => format!("{}[{}]", expr(rng, d), expr(rng, d)),
        11 => {
            let (name, max) = *rng.pick(METHODS);
            format!("{}.{name}({})", expr(rng, d), args(rng, max, d.min(1)))
        }
        12 => format!(
            "({} if {} else {})",
            expr(rng, d),
            expr(rng, d),
            expr(rng, d)
        ),
        13 => rng.pick(LOOKUPS).to_string(),
        14 => match rng.below(5) {
            0 => format!("range({})", rng.int(-3, 30)),
            1 => format!(
                "range({}, {}, {})",
                rng.int(-5, 5),
                rng.int(-5, 30),
                rng.int(-3, 3)
            ),
            2 => format!("dict(k={}, j={})", expr(rng, d), expr(rng, d)),
            3 => format!("{}.{}", expr(rng, d), rng.pick(ATTRS)),
            _ => format!("namespace(v={})", expr(rng, d)),
        },
        _ => literal(rng, d),
    }
}

fn template(rng: &mut Rng, depth: usize) -> String {
    let mut out = String::new();
    let pieces = 1 + rng.below(3);
    for _ in 0..pieces {
        let d = depth.saturating_sub(1);
        let ws = |rng: &mut Rng| if rng.chance(1, 4) { "-" } else { "" };
        match rng.below(if depth == 0 { 3 } else { 12 }) {
            0 => out.push_str(rng.pick::<&str>(&[
                "text ",
                "\n",
                "  indented\n",
                "a: b\n",
                "x",
                "é🦀",
                "\t",
                "#",
                "{",
                "}",
            ])),
            1 | 2 => {
                let depth = 1 + rng.below(3);
                let _ = write!(out, "{{{{{} {} {}}}}}", ws(rng), expr(rng, depth), ws(rng));
            }
            3 => {
                let _ = write!(
                    out,
                    "{{%{} if {} %}}{}{{% elif {} %}}{}{{% else %}}{}{{% endif {}%}}",
                    ws(rng),
                    expr(rng, 2),
                    template(rng, d),
                    expr(rng, 2),
                    template(rng, d),
                    template(rng, d),
                    ws(rng)
                );
            }
            4 => {
                let _ = write!(
                    out,
                    "{{% for {} in {} %}}{}{{{{ loop.index }}}}{{% if loop.last %}}{{% break %}}{{% endif %}}{{% else %}}{}{{% endfor %}}",
                    rng.pick(&["x", "item", "k, v", "a"]),
                    expr(rng, 2),
                    template(rng, d),
                    template(rng, d)
                );
            }
            5 => {
                let _ = write!(
                    out,
                    "{{% set {} = {} %}}",
                    rng.pick(&["x", "a", "ns.v", "items"]),
                    expr(rng, 2)
                );
            }
            6 => {
                let _ = write!(out, "{{# {} #}}", rng.pick(&["c", "{{ x }}", "%}"]));
            }
            7 => out.push_str("{% raw %}{{ not rendered }}{% endraw %}"),
            8 => {
                let _ = write!(
                    out,
                    "{{% filter {} %}}{}{{% endfilter %}}",
                    rng.pick(&["upper", "trim", "to_json", "indent(2)"]),
                    template(rng, d)
                );
            }
            9 => {
                let _ = write!(
                    out,
                    "{{% macro m(p, q=1) %}}{}{{{{ p }}}}{{% endmacro %}}{{{{ m({}) }}}}",
                    template(rng, d),
                    expr(rng, 2)
                );
            }
            10 => {
                let _ = write!(
                    out,
                    "{{% with w = {} %}}{}{{{{ w }}}}{{% endwith %}}",
                    expr(rng, 2),
                    template(rng, d)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "{{% include {} %}}",
                    rng.pick(&["'inc.j2'", "'missing.j2'", "'../inc.j2'", "x"])
                );
            }
        }
    }
    out
}

/// Variables whose values hold templates referring to each other (and to themselves).
fn template_vars(rng: &mut Rng) -> Map {
    let mut vars = Map::new();
    for name in VAR_NAMES {
        if matches!(*name, "undefined_x" | "omit" | "vars") || rng.chance(1, 5) {
            continue;
        }
        let v = match *name {
            "self_ref" => s(rng
                .pick(&[
                    "{{ self_ref }}",
                    "{{ self_ref | default(1) }}",
                    "x{{ self_ref }}",
                    "{{ lookup('vars', 'self_ref') }}",
                ])
                .to_string()),
            "loop_a" => s("{{ loop_b }}"),
            "loop_b" => s(rng
                .pick(&["{{ loop_a }}", "{{ loop_a | default('b') }}", "b"])
                .to_string()),
            "deep" => {
                let mut v = s("{{ a }}");
                for _ in 0..rng.below(MAX_DEPTH) {
                    v = if rng.chance(1, 2) {
                        Value::Array(vec![v])
                    } else {
                        obj(vec![("x", v)])
                    };
                }
                v
            }
            _ => data_value(rng, 3),
        };
        vars.insert(name.to_string(), v);
    }
    vars
}

/// Plain data with some template strings inside.
fn data_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 6 } else { 9 }) {
        0 => Value::from(rng.int(-10, 100)),
        1 => Value::from(rng.int(-100, 100) as f64 / 8.0),
        2 => Value::Bool(rng.chance(1, 2)),
        3 => Value::Null,
        4 => s(rng
            .pick(&["", "plain", "a,b", "1.2.3", "yes", "10.1.2.3", "é", "k=v"])
            .to_string()),
        5 => s(format!("{{{{ {} }}}}", expr(rng, 2))),
        6 => s(template(rng, 1)),
        7 => Value::Array(
            (0..rng.below(4))
                .map(|_| data_value(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                m.insert(rng.pick(ATTRS).to_string(), data_value(rng, depth - 1));
            }
            Value::Object(m)
        }
    }
}

// ---------------------------------------------------------------------------
// Playbook grammar.

const MODULES: &[&str] = &[
    "debug",
    "ansible.builtin.debug",
    "command",
    "shell",
    "set_fact",
    "assert",
    "fail",
    "copy",
    "template",
    "file",
    "lineinfile",
    "stat",
    "ping",
    "meta",
    "add_host",
    "group_by",
    "include_vars",
    "pause",
    "raw",
];

fn module_args(rng: &mut Rng, module: &str) -> Value {
    match rng.below(40) {
        0 => s(rng
            .pick(&[
                "msg=hi",
                "echo a b=c",
                "var=a",
                "dest=/x content='y z'",
                "flush_handlers",
                "",
            ])
            .to_string()),
        1 => Value::Null,
        2 => Value::Array(vec![s("a")]),
        3 => Value::from(1),
        _ => match module {
            "debug" | "ansible.builtin.debug" => {
                if rng.chance(1, 2) {
                    obj(vec![("msg", data_value(rng, 2))])
                } else {
                    obj(vec![("var", s(expr(rng, 2)))])
                }
            }
            "command" | "shell" | "raw" => s(format!("echo {}", template(rng, 1))),
            "set_fact" => obj(vec![
                ("x", data_value(rng, 2)),
                ("cacheable", Value::Bool(false)),
            ]),
            "assert" => obj(vec![("that", Value::Array(vec![s(expr(rng, 2))]))]),
            "meta" => s(rng
                .pick(&[
                    "flush_handlers",
                    "noop",
                    "end_play",
                    "refresh_inventory",
                    "bogus",
                ])
                .to_string()),
            _ => {
                let mut m = Map::new();
                for _ in 0..rng.below(4) {
                    m.insert(
                        rng.pick(&[
                            "msg", "dest", "src", "content", "path", "name", "state", "line",
                            "file", "groups", "key", "seconds",
                        ])
                        .to_string(),
                        data_value(rng, 1),
                    );
                }
                Value::Object(m)
            }
        },
    }
}

fn keywords(rng: &mut Rng, m: &mut Map) {
    for _ in 0..rng.below(4) {
        let (k, v) = match rng.below(22) {
            0 => ("when", s(expr(rng, 2))),
            1 => (
                "when",
                Value::Array(vec![s(expr(rng, 1)), Value::Bool(true)]),
            ),
            2 => (
                "loop",
                Value::Array((0..rng.below(4)).map(|_| data_value(rng, 1)).collect()),
            ),
            3 => ("loop", s(format!("{{{{ {} }}}}", expr(rng, 2)))),
            4 => ("with_items", data_value(rng, 2)),
            5 => ("with_dict", s("{{ nested }}")),
            6 => (
                "loop_control",
                obj(vec![
                    ("loop_var", s("it")),
                    ("label", s("{{ it }}")),
                    ("index_var", s("i")),
                ]),
            ),
            7 => (
                "register",
                s(rng.pick(&["r", "result", "1bad", ""]).to_string()),
            ),
            8 => ("tags", data_value(rng, 1)),
            9 => ("notify", s("h1")),
            10 => ("become", data_value(rng, 0)),
            11 => ("ignore_errors", data_value(rng, 0)),
            12 => ("changed_when", s(expr(rng, 1))),
            13 => ("failed_when", data_value(rng, 1)),
            14 => ("until", s(expr(rng, 1))),
            15 => ("retries", data_value(rng, 0)),
            16 => ("delegate_to", s("localhost")),
            17 => (
                "vars",
                Value::Object(template_vars(rng).into_iter().take(3).collect()),
            ),
            18 => ("environment", obj(vec![("A", s("{{ a }}"))])),
            19 => ("no_log", data_value(rng, 0)),
            20 => ("args", obj(vec![("chdir", s("/tmp"))])),
            21 if rng.chance(1, 5) => ("frobnicate", Value::from(1)),
            _ => ("when", Value::Bool(true)),
        };
        m.insert(k.to_string(), v);
    }
}

fn task(rng: &mut Rng, depth: usize) -> Value {
    let mut m = Map::new();
    if rng.chance(1, 2) {
        m.insert("name".into(), s(format!("t {}", template(rng, 0))));
    }
    match rng.below(if depth == 0 { 7 } else { 10 }) {
        0..=4 => {
            let module = if rng.chance(1, 20) {
                *rng.pick(&["no_such_module", "community.general.thing"])
            } else {
                *rng.pick(MODULES)
            };
            if rng.chance(1, 10) {
                m.insert("action".into(), s(format!("{module} msg=x")));
            } else {
                let args = module_args(rng, module);
                m.insert(module.into(), args);
            }
        }
        5 => {
            let kind = *rng.pick(&[
                "include_tasks",
                "import_tasks",
                "ansible.builtin.include_tasks",
            ]);
            let file = *rng.pick(&[
                "inc.yml",
                "tasks/inc.yml",
                "missing.yml",
                "play.yml",
                "{{ f }}",
                "/",
            ]);
            m.insert(kind.into(), s(file));
        }
        6 => {
            let kind = *rng.pick(&["include_role", "import_role"]);
            let mut args = obj(vec![(
                "name",
                s(*rng.pick(&["r", "r2", "missing", "{{ n }}"])),
            )]);
            if rng.chance(1, 3) {
                args.as_object_mut().unwrap().insert(
                    "tasks_from".into(),
                    s(*rng.pick(&["main", "other", "../x"])),
                );
            }
            m.insert(kind.into(), args);
        }
        _ => {
            m.insert("block".into(), task_list(rng, depth - 1));
            if rng.chance(1, 2) {
                m.insert("rescue".into(), task_list(rng, depth - 1));
            }
            if rng.chance(1, 2) {
                m.insert("always".into(), task_list(rng, depth - 1));
            }
        }
    }
    keywords(rng, &mut m);
    Value::Object(m)
}

fn task_list(rng: &mut Rng, depth: usize) -> Value {
    Value::Array((0..rng.below(4)).map(|_| task(rng, depth)).collect())
}

fn role_ref(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 => s(*rng.pick(&["r", "r2", "missing", "roles/r"])),
        1 => obj(vec![
            ("role", s("r")),
            ("vars", obj(vec![("v", Value::from(1))])),
        ]),
        2 => obj(vec![
            ("name", s("r2")),
            ("when", s("a is defined")),
            ("tags", s("t")),
        ]),
        _ => obj(vec![("role", s("{{ n }}"))]),
    }
}

fn play(rng: &mut Rng) -> Value {
    if rng.chance(1, 10) {
        return obj(vec![(
            "import_playbook",
            s(*rng.pick(&["play.yml", "other.yml", "{{ x }}"])),
        )]);
    }
    let mut m = Map::new();
    m.insert(
        "hosts".into(),
        s(*rng.pick(&[
            "all",
            "localhost",
            "web",
            "h1:h2",
            "{{ target }}",
            "!all",
            "",
        ])),
    );
    for _ in 0..rng.below(8) {
        let (k, v) = match rng.below(14) {
            0 => ("name", s(template(rng, 0))),
            1 => ("gather_facts", data_value(rng, 0)),
            2 => ("vars", Value::Object(template_vars(rng))),
            3 => ("vars_files", Value::Array(vec![s("vars.yml")])),
            4 => (
                "roles",
                Value::Array((0..rng.below(3)).map(|_| role_ref(rng)).collect()),
            ),
            5 => ("pre_tasks", task_list(rng, 2)),
            6 | 7 => ("tasks", task_list(rng, 3)),
            8 => ("post_tasks", task_list(rng, 1)),
            9 => ("handlers", task_list(rng, 1)),
            10 => ("serial", data_value(rng, 1)),
            11 => ("strategy", s(*rng.pick(&["linear", "free", "bogus"]))),
            12 => ("tags", data_value(rng, 1)),
            _ => ("any_errors_fatal", data_value(rng, 0)),
        };
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------
// Inventory and k=v grammars.

fn ini_inventory(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..1 + rng.below(5) {
        let group = *rng.pick(&["web", "db", "all", "ungrouped", "g-1", "a.b", "web", ""]);
        let kind = *rng.pick(&[
            "",
            "",
            "",
            ":vars",
            ":children",
            ":vars",
            ":children",
            ":bogus",
        ]);
        if rng.chance(4, 5) {
            let _ = writeln!(out, "[{group}{kind}]");
        }
        for _ in 0..rng.below(4) {
            match kind {
                ":vars" => {
                    let _ = writeln!(
                        out,
                        "{}={}",
                        rng.pick(&["v", "ansible_port", "x y", "k"]),
                        rng.pick(&[
                            "1", "'q x'", "\"d\"", "[1, 2]", "{'a': 1}", "{{ a }}", "", "a=b"
                        ])
                    );
                }
                ":children" => {
                    let _ = writeln!(out, "{}", rng.pick(&["web", "db", "all", "missing", "g-1"]));
                }
                _ => {
                    let host = *rng.pick(&[
                        "h1",
                        "h2",
                        "web[01:03]",
                        "db-[a:c].example",
                        "h[1:10:3]",
                        "10.0.0.1",
                        "10.0.0.2:2222",
                        "[::1]:22",
                        "host with space",
                        "h[3:1]",
                        "h[01:]",
                        "localhost",
                    ]);
                    let _ = write!(out, "{host}");
                    for _ in 0..rng.below(3) {
                        let _ = write!(
                            out,
                            " {}={}",
                            rng.pick(&["ansible_host", "ansible_port", "v", "x"]),
                            rng.pick(&[
                                "1",
                                "'a b'",
                                "\"c\"",
                                "True",
                                "1.5",
                                "x=y",
                                "'unterminated"
                            ])
                        );
                    }
                    if rng.chance(1, 5) {
                        out.push_str(" # comment");
                    }
                    out.push('\n');
                }
            }
        }
        if rng.chance(1, 4) {
            out.push_str(rng.pick::<&str>(&["; c\n", "\n", "# c\n", "   \n"]));
        }
    }
    out
}

fn host_patterns(rng: &mut Rng) -> String {
    (0..1 + rng.below(4))
        .map(|_| {
            let parts: Vec<&str> = (0..1 + rng.below(3))
                .map(|_| {
                    *rng.pick(&[
                        "all",
                        "*",
                        "web",
                        "db",
                        "!db",
                        "&web",
                        "h1",
                        "h*",
                        "~h[0-9]",
                        "~(",
                        "web[0]",
                        "web[-1]",
                        "web[1:]",
                        "web[0:9999]",
                        "10.0.0.*",
                        "missing",
                        "",
                        "[",
                        "web[a]",
                    ])
                })
                .collect();
            parts.join(*rng.pick(&[":", ",", ":&", ":!"]))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn kv_string(rng: &mut Rng) -> String {
    (0..rng.below(6))
        .map(|_| match rng.below(8) {
            0 => format!(
                "{}={}",
                rng.pick(ATTRS),
                rng.pick(&["v", "''", "\"a b\"", "'c d'", ""])
            ),
            1 => "chdir=/tmp".to_string(),
            2 => format!("{{{{ {} }}}}", expr(rng, 1)),
            3 => "{% if a %}x=1{% endif %}".to_string(),
            4 => rng
                .pick(&[
                    "\\n", "\\x4", "\\u00e9", "\\=", "\\'", "\\\\", "\\101", "\\N{x}",
                ])
                .to_string(),
            5 => rng
                .pick(&["'", "\"", "{{", "}}", "=", "a=", "=b", "\n"])
                .to_string(),
            _ => rng.pick(&["echo", "a", "é", "--flag"]).to_string(),
        })
        .collect::<Vec<_>>()
        .join(if rng.chance(1, 5) { "  " } else { " " })
}

// ---------------------------------------------------------------------------
// Building a case for a target.

/// Either the grammar's output, a mutation of a seed, or a mutation of the grammar's output.
fn text_input(
    rng: &mut Rng,
    seeds: &[String],
    donors: &[String],
    grammar: impl FnOnce(&mut Rng) -> String,
) -> String {
    match rng.below(5) {
        0 | 1 => grammar(rng),
        2 | 3 => {
            let seed = rng.pick(seeds).clone();
            mutate(rng, &seed, donors)
        }
        _ => {
            let generated = grammar(rng);
            mutate(rng, &generated, donors)
        }
    }
}

fn generate(target: Target, seed: u64, corpus: &Corpus) -> Case {
    let mut rng = Rng::new(seed);
    let rng = &mut rng;
    let mut case = Case::new(target, seed);
    match target {
        Target::Yaml => {
            let text = text_input(rng, &corpus.yaml, &corpus.yaml, |rng| {
                let v = match rng.below(3) {
                    0 => Value::Array((0..1 + rng.below(3)).map(|_| play(rng)).collect()),
                    1 => Value::Object(template_vars(rng)),
                    _ => data_value(rng, 4),
                };
                to_yaml(rng, &v)
            });
            case.add("text", text);
        }
        Target::Playbook => {
            let text = text_input(rng, &corpus.yaml, &corpus.yaml, |rng| {
                let v = Value::Array((0..1 + rng.below(3)).map(|_| play(rng)).collect());
                to_yaml(rng, &v)
            });
            case.add("play.yml", text);
            let task_file = |rng: &mut Rng| {
                text_input(rng, &corpus.yaml, &corpus.yaml, |rng| {
                    let v = task_list(rng, 2);
                    to_yaml(rng, &v)
                })
            };
            if rng.chance(3, 4) {
                let t = task_file(rng);
                case.add("roles/r/tasks/main.yml", t);
            }
            if rng.chance(2, 3) {
                let t = task_file(rng);
                case.add("inc.yml", t);
            }
            if rng.chance(1, 4) {
                let t = task_file(rng);
                case.add("roles/r2/tasks/main.yml", t);
            }
            if rng.chance(1, 3) {
                let deps = Value::Array((0..rng.below(3)).map(|_| role_ref(rng)).collect());
                let meta = obj(vec![
                    ("dependencies", deps),
                    ("allow_duplicates", data_value(rng, 0)),
                ]);
                let text = to_yaml(rng, &meta);
                let text = if rng.chance(1, 3) {
                    mutate(rng, &text, &corpus.yaml)
                } else {
                    text
                };
                case.add(
                    rng.pick::<&str>(&["roles/r/meta/main.yml", "roles/r2/meta/main.yml"]),
                    text,
                );
            }
            if rng.chance(1, 4) {
                let v = Value::Object(template_vars(rng));
                let text = to_yaml(rng, &v);
                case.add(
                    rng.pick::<&str>(&[
                        "vars.yml",
                        "roles/r/defaults/main.yml",
                        "roles/r/vars/main.yml",
                    ]),
                    text,
                );
            }
            if rng.chance(1, 5) {
                let t = task_file(rng);
                case.add("roles/r/handlers/main.yml", t);
            }
            if rng.chance(1, 6) {
                let t = text_input(rng, &corpus.yaml, &corpus.yaml, |rng| {
                    let v = Value::Array(vec![play(rng)]);
                    to_yaml(rng, &v)
                });
                case.add("other.yml", t);
            }
        }
        Target::Template => {
            let vars = template_vars(rng);
            case.add(
                "vars",
                serde_json::to_string_pretty(&Value::Object(vars)).unwrap(),
            );
            let mode = *rng.pick(&[
                "render_str",
                "render_str",
                "render_value",
                "eval",
                "eval",
                "condition",
                "render_file",
            ]);
            let text = match mode {
                "eval" | "condition" if rng.chance(2, 3) => {
                    text_input(rng, &corpus.exprs, &corpus.exprs, |rng| expr(rng, 5))
                }
                _ => text_input(rng, &corpus.templates, &corpus.templates, |rng| {
                    template(rng, 3)
                }),
            };
            case.add("mode", mode.to_string());
            case.add("text", text);
            if mode == "render_file" {
                let opts = match rng.below(6) {
                    0 => "trim_blocks=false lstrip_blocks=true",
                    1 => "variable=[[,]] block=[%,%]",
                    2 => "newline=\\r\\n",
                    3 => "variable=<<,>>",
                    _ => "",
                };
                case.add("opts", opts.to_string());
                if rng.chance(1, 3) {
                    let inc = template(rng, 2);
                    case.add("inc.j2", inc);
                }
            }
        }
        Target::Kv => {
            let text = text_input(rng, &corpus.kv, &corpus.kv, kv_string);
            case.add("text", text);
            case.add("free_form", rng.chance(1, 2).to_string());
        }
        Target::Inventory => {
            let text = text_input(rng, &corpus.inventories, &corpus.inventories, ini_inventory);
            case.add("hosts", text);
            let patterns = host_patterns(rng);
            case.add("patterns", patterns);
        }
    }
    case
}

// ---------------------------------------------------------------------------
// Running a case against the library.

struct Worker {
    templar: Templar,
    base: tempfile::TempDir,
    count: u64,
}

impl Worker {
    fn new() -> Worker {
        Worker {
            templar: Templar::new(),
            base: tempfile::tempdir().expect("temp dir"),
            count: 0,
        }
    }

    /// A fresh directory holding the case's files.
    fn write_files(&mut self, case: &Case, skip: &[&str]) -> PathBuf {
        self.count += 1;
        let dir = self.base.path().join(self.count.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &case.parts {
            if skip.contains(&name.as_str()) {
                continue;
            }
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        dir
    }

    /// Feeds the case to its target; whether the target accepted it (an error is
    /// a fine answer to a bad input, this only measures how deep inputs get).
    fn run(&mut self, case: &Case) -> bool {
        match case.target {
            Target::Yaml => {
                match srplay::yaml::load_str(case.part("text"), Path::new("fuzz.yml")) {
                    Ok(Some(node)) => {
                        let value = node.to_value();
                        let _ = node.key_string();
                        serde_json::to_string(&value).is_ok()
                    }
                    Ok(None) => true,
                    Err(_) => false,
                }
            }
            Target::Playbook => {
                let dir = self.write_files(case, &[]);
                let loader = srplay::playbook::Loader::new(vec![]);
                let accepted = loader.load_playbook(&dir.join("play.yml")).is_ok();
                let _ = std::fs::remove_dir_all(&dir);
                accepted
            }
            Target::Template => self.run_template(case),
            Target::Kv => {
                let text = case.part("text");
                let _ = srplay::playbook::kv::split_args(text);
                let _ = srplay::playbook::kv::decode_escapes(text);
                let _ = srplay::playbook::kv::unquote(text);
                !srplay::playbook::kv::parse_kv(text, case.part("free_form") == "true").is_empty()
            }
            Target::Inventory => {
                let dir = self.write_files(case, &["patterns"]);
                let source = dir.join("hosts").display().to_string();
                let mut accepted = false;
                if let Ok(inventory) = srplay::inventory::Inventory::load(&[source], &dir) {
                    for pattern in case.part("patterns").lines() {
                        accepted |= inventory.select(pattern).is_ok();
                    }
                    for host in inventory.host_names() {
                        let _ = inventory.host_vars(&host, None);
                        let _ = inventory.group_names(&host);
                    }
                    let _ = inventory.to_list_json(None);
                }
                let _ = std::fs::remove_dir_all(&dir);
                accepted
            }
        }
    }

    fn run_template(&mut self, case: &Case) -> bool {
        let vars: Value = serde_json::from_str(case.part("vars")).unwrap();
        let mut stack = VarStack::new();
        if let Value::Object(map) = vars {
            stack.push_map(map);
        }
        let dir = self.write_files(case, &["vars", "mode", "text", "opts"]);
        let search_paths = vec![dir.clone()];
        let scope = Scope {
            vars: &stack,
            search_paths: &search_paths,
        };
        let text = case.part("text");
        let accepted = match case.part("mode") {
            "render_str" => self.templar.render_str(text, &scope).is_ok(),
            "render_value" => {
                let value = obj(vec![(text, Value::Array(vec![s(text), Value::from(1)]))]);
                self.templar.render_value(&value, &scope).is_ok()
            }
            "eval" => self.templar.eval(text, &scope).is_ok(),
            "condition" => self.templar.condition(text, &scope).is_ok(),
            _ => {
                let mut opts = TemplateOptions::default();
                for word in case.part("opts").split_whitespace() {
                    let (k, v) = word.split_once('=').unwrap();
                    match k {
                        "trim_blocks" => opts.trim_blocks = v == "true",
                        "lstrip_blocks" => opts.lstrip_blocks = v == "true",
                        "newline" => opts.newline_sequence = v.to_string(),
                        "variable" | "block" => {
                            let (start, end) = v.split_once(',').unwrap();
                            let (start, end) = (Some(start.to_string()), Some(end.to_string()));
                            if k == "variable" {
                                (opts.variable_start_string, opts.variable_end_string) =
                                    (start, end);
                            } else {
                                (opts.block_start_string, opts.block_end_string) = (start, end);
                            }
                        }
                        _ => unreachable!("unknown option {k}"),
                    }
                }
                self.templar
                    .render_file(text, &dir.join("t.j2"), &opts, &scope)
                    .is_ok()
            }
        };
        let _ = std::fs::remove_dir_all(&dir);
        accepted
    }
}

// ---------------------------------------------------------------------------
// The driver.

/// The message and location of the last panic on the worker thread.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
const WORKER_NAME: &str = "srplay-fuzz-worker";

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(WORKER_NAME) {
                let backtrace = std::backtrace::Backtrace::force_capture();
                *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(format!("{info}\n\nbacktrace:\n{backtrace}"));
            } else {
                default(info);
            }
        }));
    });
}

enum Outcome {
    Ok { accepted: bool },
    Panic(String),
}

struct Finding {
    kind: &'static str,
    target: Target,
    seed: u64,
    summary: String,
    file: PathBuf,
}

fn failures_dir() -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target_dir.join("fuzz-failures");
    std::fs::create_dir_all(&dir).expect("create target/fuzz-failures");
    dir
}

fn save_finding(kind: &'static str, case: &Case, detail: &str) -> Finding {
    let file = failures_dir().join(format!(
        "{}-{kind}-{:016x}.txt",
        case.target.name(),
        case.seed
    ));
    let text = format!("# {kind}\n{}\n# details\n{detail}\n", case.describe());
    std::fs::write(&file, text).expect("save finding");
    Finding {
        kind,
        target: case.target,
        seed: case.seed,
        summary: detail.lines().next().unwrap_or("").to_string(),
        file,
    }
}

struct Plan {
    run_seed: u64,
    /// Stop after this long...
    deadline: Option<Duration>,
    /// ...or after this many inputs per target.
    iters_per_target: Option<u64>,
    /// How long one input may take before it counts as a hang.
    hang_limit: Duration,
    verbose: bool,
}

struct Report {
    iterations: u64,
    per_target: BTreeMap<&'static str, u64>,
    /// Inputs each target accepted without an error.
    accepted: BTreeMap<&'static str, u64>,
    elapsed: Duration,
    findings: Vec<Finding>,
}

fn run(plan: &Plan, corpus: &Corpus, only: Option<Target>) -> Report {
    install_panic_hook();
    let failures = failures_dir();
    let last_input = failures.join("last-input.txt");
    let (to_worker, inbox) = mpsc::channel::<Case>();
    let (outbox, from_worker) = mpsc::channel::<Outcome>();
    std::thread::Builder::new()
        .name(WORKER_NAME.to_string())
        .spawn(move || {
            let mut worker = Worker::new();
            for case in inbox {
                let result = panic::catch_unwind(AssertUnwindSafe(|| worker.run(&case)));
                let outcome = match result {
                    Ok(accepted) => Outcome::Ok { accepted },
                    Err(_) => Outcome::Panic(
                        LAST_PANIC
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .take()
                            .unwrap_or_else(|| "panic without a message".to_string()),
                    ),
                };
                if outbox.send(outcome).is_err() {
                    break;
                }
            }
        })
        .expect("spawn the fuzz worker");

    let started = Instant::now();
    let mut report = Report {
        iterations: 0,
        per_target: BTreeMap::new(),
        accepted: BTreeMap::new(),
        elapsed: Duration::ZERO,
        findings: Vec::new(),
    };
    let mut seen_panics: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_progress = Instant::now();
    let targets: Vec<Target> = only.map_or(TARGETS.to_vec(), |t| vec![t]);
    let mut i: u64 = 0;
    loop {
        if plan.deadline.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if plan
            .iters_per_target
            .is_some_and(|n| i >= n * targets.len() as u64)
        {
            break;
        }
        let target = targets[(i % targets.len() as u64) as usize];
        let seed = case_seed(plan.run_seed, i);
        i += 1;
        let case = generate(target, seed, corpus);
        let _ = std::fs::write(&last_input, case.describe());
        to_worker.send(case.clone()).expect("fuzz worker is gone");
        let outcome = from_worker.recv_timeout(plan.hang_limit);
        report.iterations += 1;
        *report.per_target.entry(target.name()).or_default() += 1;
        match outcome {
            Ok(Outcome::Ok { accepted }) => {
                if accepted {
                    *report.accepted.entry(target.name()).or_default() += 1;
                }
            }
            Ok(Outcome::Panic(detail)) => {
                // Save the first few inputs per distinct panic location.
                let first_line = detail.lines().next().unwrap_or("").to_string();
                let count = seen_panics.entry(first_line.clone()).or_default();
                *count += 1;
                let finding = if *count <= 3 {
                    save_finding("panic", &case, &detail)
                } else {
                    Finding {
                        kind: "panic",
                        target,
                        seed,
                        summary: first_line,
                        file: PathBuf::new(),
                    }
                };
                if *count <= 3 {
                    println!(
                        "PANIC in {} (seed {:#x}): {}\n  saved: {}",
                        target.name(),
                        seed,
                        finding.summary,
                        finding.file.display()
                    );
                }
                report.findings.push(finding);
            }
            Err(_) => {
                let finding = save_finding(
                    "hang",
                    &case,
                    &format!("no result within {:?}", plan.hang_limit),
                );
                println!(
                    "HANG in {} (seed {:#x}): no result within {:?}, stopping\n  saved: {}",
                    target.name(),
                    seed,
                    plan.hang_limit,
                    finding.file.display()
                );
                report.findings.push(finding);
                break;
            }
        }
        if plan.verbose && last_progress.elapsed() >= Duration::from_secs(30) {
            last_progress = Instant::now();
            println!(
                "  {:>5.0}s  {} inputs, {} findings",
                started.elapsed().as_secs_f64(),
                report.iterations,
                report.findings.len()
            );
        }
    }
    report.elapsed = started.elapsed();
    report
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    Some(
        match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        }
        .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
    )
}

fn hang_limit() -> Duration {
    // Debug builds are many times slower than the release builds the long runs use.
    Duration::from_secs(if cfg!(debug_assertions) { 20 } else { 2 })
}

fn summarize(plan: &Plan, report: &Report) -> String {
    let mut out = format!(
        "fuzz: seed {:#x}: {} inputs in {:.1}s ({}), {} panics, {} hangs",
        plan.run_seed,
        report.iterations,
        report.elapsed.as_secs_f64(),
        report
            .per_target
            .iter()
            .map(|(t, n)| format!(
                "{t} {n}, {} accepted",
                report.accepted.get(t).copied().unwrap_or(0)
            ))
            .collect::<Vec<_>>()
            .join(", "),
        report.findings.iter().filter(|f| f.kind == "panic").count(),
        report.findings.iter().filter(|f| f.kind == "hang").count(),
    );
    for f in &report.findings {
        let _ = write!(
            out,
            "\n  {} in {} (seed {:#x}): {}",
            f.kind,
            f.target.name(),
            f.seed,
            f.summary
        );
    }
    out
}

/// `cargo test` runs a short deterministic pass; `SRPLAY_FUZZ_SECS` makes it a long
/// run with a fresh seed; `SRPLAY_FUZZ_REPLAY=target:seed` reruns one input.
#[test]
fn fuzz_parsers_and_templates() {
    let corpus = Corpus::load();
    if let Ok(spec) = std::env::var("SRPLAY_FUZZ_REPLAY") {
        let (name, seed) = spec
            .split_once(':')
            .expect("SRPLAY_FUZZ_REPLAY=target:seed");
        let target = Target::from_name(name).expect("unknown target");
        let seed = u64::from_str_radix(seed.trim_start_matches("0x"), 16).expect("hex seed");
        let case = generate(target, seed, &corpus);
        println!("{}", case.describe());
        install_panic_hook();
        let mut worker = Worker::new();
        println!("accepted: {}", worker.run(&case));
        return;
    }
    let only = std::env::var("SRPLAY_FUZZ_TARGET")
        .ok()
        .map(|name| Target::from_name(&name).expect("unknown SRPLAY_FUZZ_TARGET"));
    let plan = match env_u64("SRPLAY_FUZZ_SECS") {
        Some(secs) => Plan {
            run_seed: env_u64("SRPLAY_FUZZ_SEED").unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            }),
            deadline: Some(Duration::from_secs(secs)),
            iters_per_target: None,
            hang_limit: hang_limit(),
            verbose: true,
        },
        None => Plan {
            run_seed: env_u64("SRPLAY_FUZZ_SEED").unwrap_or(QUICK_SEED),
            deadline: None,
            iters_per_target: Some(env_u64("SRPLAY_FUZZ_ITERS").unwrap_or(QUICK_ITERS_PER_TARGET)),
            hang_limit: hang_limit(),
            verbose: false,
        },
    };
    if plan.verbose {
        println!(
            "fuzz: seed {:#x}, {}s, findings go to {}",
            plan.run_seed,
            plan.deadline.unwrap_or_default().as_secs(),
            failures_dir().display()
        );
    }
    let report = run(&plan, &corpus, only);
    let summary = summarize(&plan, &report);
    println!("{summary}");
    assert!(
        report.per_target.len() == only.map_or(TARGETS.len(), |_| 1),
        "not every target ran: {summary}"
    );
    assert!(report.findings.is_empty(), "{summary}");
}
