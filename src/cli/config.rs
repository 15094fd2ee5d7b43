//! `ansible.cfg` and `ANSIBLE_*` variables, found as Ansible finds them: the file named
//! by `ANSIBLE_CONFIG`, else `./ansible.cfg`, else `~/.ansible.cfg`, else
//! `/etc/ansible/ansible.cfg`. The environment overrides the file; the CLI overrides both.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diagnostic::{Error, Result};

/// The settings srplay reads, after file and environment.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub inventory: Vec<String>,
    pub forks: Option<u32>,
    pub roles_path: Vec<PathBuf>,
    pub remote_user: Option<String>,
    pub host_key_checking: Option<bool>,
    pub strategy: Option<String>,
    pub timeout: Option<u64>,
    pub private_key_file: Option<String>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub become_ask_pass: Option<bool>,
    pub ask_pass: Option<bool>,
    pub force_handlers: Option<bool>,
    /// `vault_password_file`: one more password file, after `--vault-password-file`s.
    pub vault_password_file: Option<String>,
    /// `vault_identity_list`: `[LABEL@]SOURCE`s tried before `--vault-id`s.
    pub vault_identity_list: Vec<String>,
    pub ask_vault_pass: Option<bool>,
    /// `vault_encrypt_identity`: the vault id to encrypt with when several are given.
    pub vault_encrypt_identity: Option<String>,
}

/// A parsed INI file: section → key → value.
type Ini = IndexMap<String, IndexMap<String, String>>;

fn parse_ini(text: &str, path: &Path) -> Result<Ini> {
    let mut ini = Ini::new();
    let mut section = String::from("defaults");
    let mut last_key: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            last_key = None;
            continue;
        }
        // An indented line continues the previous value (Python configparser).
        if line.starts_with([' ', '\t'])
            && let Some(k) = &last_key
            && let Some(v) = ini.get_mut(&section).and_then(|s| s.get_mut(k))
        {
            v.push('\n');
            v.push_str(trimmed);
            continue;
        }
        let Some((k, v)) = trimmed.split_once(['=', ':']) else {
            return Err(Error::options(format!(
                "{}:{}: expected 'key = value' in the config file, got '{trimmed}'",
                path.display(),
                n + 1
            )));
        };
        let v = v
            .split(" #")
            .next()
            .unwrap_or_default()
            .split(" ;")
            .next()
            .unwrap_or_default();
        let key = k.trim().to_string();
        ini.entry(section.clone())
            .or_default()
            .insert(key.clone(), v.trim().to_string());
        last_key = Some(key);
    }
    Ok(ini)
}

/// Find the config file as Ansible does.
pub fn find_config_file(cwd: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ANSIBLE_CONFIG").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        let p = if p.is_dir() { p.join("ansible.cfg") } else { p };
        return p.is_file().then_some(p);
    }
    let mut candidates = vec![cwd.join("ansible.cfg")];
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".ansible.cfg"));
    }
    candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    candidates.into_iter().find(|p| p.is_file())
}

/// A config list: comma-separated, blanks dropped.
fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_bool(s: &str) -> Option<bool> {
    crate::value::str_to_bool(s)
}

/// Expand `~` and make a config path absolute relative to the config file's directory.
fn config_path(v: &str, base: &Path) -> PathBuf {
    let v = v.trim();
    let expanded = match (v.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(v),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    }
}

impl Config {
    /// Read the config file (if any) and the environment.
    pub fn load(cwd: &Path) -> Result<Config> {
        let mut c = Config::default();
        if let Some(file) = find_config_file(cwd) {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, &e))?;
            let ini = parse_ini(&text, &file)?;
            let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
            let get = |s: &str, k: &str| ini.get(s).and_then(|m| m.get(k)).map(String::as_str);
            if let Some(v) = get("defaults", "inventory").or_else(|| get("defaults", "hostfile")) {
                c.inventory = v
                    .split(',')
                    .map(|p| p.trim())
                    .filter(|p| !p.is_empty())
                    .map(|p| config_path(p, &base).display().to_string())
                    .collect();
            }
            c.forks = get("defaults", "forks").and_then(|v| v.parse().ok());
            if let Some(v) = get("defaults", "roles_path") {
                c.roles_path = v
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(|p| config_path(p, &base))
                    .collect();
            }
            c.remote_user = get("defaults", "remote_user").map(str::to_string);
            c.host_key_checking = get("defaults", "host_key_checking").and_then(parse_bool);
            c.strategy = get("defaults", "strategy").map(str::to_string);
            c.timeout = get("defaults", "timeout").and_then(|v| v.parse().ok());
            c.private_key_file = get("defaults", "private_key_file")
                .map(|p| config_path(p, &base).display().to_string());
            c.ask_pass = get("defaults", "ask_pass").and_then(parse_bool);
            c.force_handlers = get("defaults", "force_handlers").and_then(parse_bool);
            c.vault_password_file = get("defaults", "vault_password_file")
                .map(|p| config_path(p, &base).display().to_string());
            c.vault_identity_list = get("defaults", "vault_identity_list")
                .map(split_list)
                .unwrap_or_default();
            c.ask_vault_pass = get("defaults", "ask_vault_pass").and_then(parse_bool);
            c.vault_encrypt_identity =
                get("defaults", "vault_encrypt_identity").map(str::to_string);
            c.become_ = get("privilege_escalation", "become").and_then(parse_bool);
            c.become_user = get("privilege_escalation", "become_user").map(str::to_string);
            c.become_method = get("privilege_escalation", "become_method").map(str::to_string);
            c.become_ask_pass = get("privilege_escalation", "become_ask_pass").and_then(parse_bool);
            c.file = Some(file);
        }
        c.apply_env(cwd);
        Ok(c)
    }

    fn apply_env(&mut self, cwd: &Path) {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("ANSIBLE_INVENTORY") {
            self.inventory = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| config_path(p, cwd).display().to_string())
                .collect();
        }
        if let Some(v) = env("ANSIBLE_FORKS").and_then(|v| v.parse().ok()) {
            self.forks = Some(v);
        }
        if let Some(v) = env("ANSIBLE_ROLES_PATH") {
            self.roles_path = v
                .split(':')
                .filter(|p| !p.is_empty())
                .map(|p| config_path(p, cwd))
                .collect();
        }
        if let Some(v) = env("ANSIBLE_REMOTE_USER") {
            self.remote_user = Some(v);
        }
        if let Some(v) = env("ANSIBLE_HOST_KEY_CHECKING")
            .as_deref()
            .and_then(parse_bool)
        {
            self.host_key_checking = Some(v);
        }
        if let Some(v) = env("ANSIBLE_STRATEGY") {
            self.strategy = Some(v);
        }
        if let Some(v) = env("ANSIBLE_TIMEOUT").and_then(|v| v.parse().ok()) {
            self.timeout = Some(v);
        }
        if let Some(v) = env("ANSIBLE_PRIVATE_KEY_FILE") {
            self.private_key_file = Some(v);
        }
        if let Some(v) = env("ANSIBLE_BECOME").as_deref().and_then(parse_bool) {
            self.become_ = Some(v);
        }
        if let Some(v) = env("ANSIBLE_BECOME_USER") {
            self.become_user = Some(v);
        }
        if let Some(v) = env("ANSIBLE_BECOME_METHOD") {
            self.become_method = Some(v);
        }
        if let Some(v) = env("ANSIBLE_BECOME_ASK_PASS")
            .as_deref()
            .and_then(parse_bool)
        {
            self.become_ask_pass = Some(v);
        }
        if let Some(v) = env("ANSIBLE_VAULT_PASSWORD_FILE") {
            self.vault_password_file = Some(config_path(&v, cwd).display().to_string());
        }
        if let Some(v) = env("ANSIBLE_VAULT_IDENTITY_LIST") {
            self.vault_identity_list = split_list(&v);
        }
        if let Some(v) = env("ANSIBLE_ASK_VAULT_PASS")
            .as_deref()
            .and_then(parse_bool)
        {
            self.ask_vault_pass = Some(v);
        }
        if let Some(v) = env("ANSIBLE_VAULT_ENCRYPT_IDENTITY") {
            self.vault_encrypt_identity = Some(v);
        }
        if let Some(v) = env("ANSIBLE_FORCE_HANDLERS")
            .as_deref()
            .and_then(parse_bool)
        {
            self.force_handlers = Some(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("ansible.cfg");
        std::fs::write(&cfg, "[defaults]\ninventory = inventory/hosts\nforks=7 # comment\nroles_path = roles:/opt/roles\nhost_key_checking = False\n[privilege_escalation]\nbecome = yes\nbecome_user: admin\n").unwrap();
        let text = std::fs::read_to_string(&cfg).unwrap();
        let ini = parse_ini(&text, &cfg).unwrap();
        assert_eq!(ini["defaults"]["forks"], "7");
        assert_eq!(ini["privilege_escalation"]["become_user"], "admin");
        assert!(
            parse_ini("[defaults]\nnot a pair\n", &cfg)
                .unwrap_err()
                .message
                .contains(":2:")
        );
    }
}
