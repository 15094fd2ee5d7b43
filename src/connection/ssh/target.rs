//! Where and how to reach a host over SSH: its address, user, credentials and
//! host-key policy, from Ansible's connection variables, `ansible.cfg` and the CLI.

use std::time::Duration;

use crate::connection::{ConnError, ConnResult};

/// Everything needed to open a session to one host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SshTarget {
    /// The inventory name (for messages).
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub private_key_file: Option<String>,
    /// Password authentication (`ansible_password`, `-k`). Never put on a command line.
    pub password: Option<String>,
    pub connect_timeout: Duration,
    pub host_key_checking: bool,
    /// The `known_hosts` files searched, in order.
    pub known_hosts_files: Vec<String>,
}

/// The settings that are not the host's own: from the CLI and `ansible.cfg`.
#[derive(Clone, Debug, Default)]
pub struct SshDefaults {
    pub remote_user: Option<String>,
    pub private_key_file: Option<String>,
    pub password: Option<String>,
    pub timeout_secs: u64,
    pub host_key_checking: bool,
}

/// The connection variables of a host (already templated), by Ansible's names.
pub trait ConnVars {
    fn get_str(&self, name: &str) -> Option<String>;
}

impl SshTarget {
    pub fn from_vars(
        name: &str,
        vars: &dyn ConnVars,
        defaults: &SshDefaults,
    ) -> ConnResult<SshTarget> {
        let first = |names: &[&str]| names.iter().find_map(|n| vars.get_str(n));
        let address = first(&["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| name.into());
        let port = match first(&["ansible_port", "ansible_ssh_port"]) {
            Some(p) => p.trim().parse::<u16>().map_err(|_| {
                ConnError::unreachable(format!(
                    "ansible_port of {name} is not a port number: {p:?}"
                ))
            })?,
            None => 22,
        };
        let user = first(&["ansible_user", "ansible_ssh_user"])
            .or_else(|| defaults.remote_user.clone())
            .unwrap_or_else(current_user);
        let private_key_file = first(&["ansible_ssh_private_key_file", "ansible_private_key_file"])
            .or_else(|| defaults.private_key_file.clone())
            .map(|p| expand_home(&p));
        let password = first(&[
            "ansible_password",
            "ansible_ssh_pass",
            "ansible_ssh_password",
        ])
        .or_else(|| defaults.password.clone());
        let timeout = first(&["ansible_ssh_timeout", "ansible_timeout"])
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(defaults.timeout_secs.max(1));
        let mut host_key_checking =
            first(&["ansible_host_key_checking", "ansible_ssh_host_key_checking"])
                .and_then(|v| crate::value::to_bool(&crate::value::Value::String(v)))
                .unwrap_or(defaults.host_key_checking);

        let mut known_hosts_files = Vec::new();
        let args = [
            "ansible_ssh_common_args",
            "ansible_ssh_extra_args",
            "ansible_ssh_args",
        ];
        for var in args {
            let Some(text) = vars.get_str(var) else {
                continue;
            };
            for (key, value) in ssh_options(&text, var)? {
                match key.to_ascii_lowercase().as_str() {
                    "userknownhostsfile" => {
                        known_hosts_files.extend(value.split_whitespace().map(expand_home));
                    }
                    // `host_key_checking = False` comes first on Ansible's ssh command
                    // line, and ssh keeps the first value: the args can only turn it off.
                    "stricthostkeychecking" => {
                        if matches!(value.to_ascii_lowercase().as_str(), "no" | "off") {
                            host_key_checking = false;
                        }
                    }
                    // Options that change nothing srplay does, or that it does anyway.
                    "controlmaster"
                    | "controlpersist"
                    | "controlpath"
                    | "serveraliveinterval"
                    | "serveralivecountmax"
                    | "connecttimeout"
                    | "loglevel"
                    | "compression"
                    | "identitiesonly"
                    | "batchmode"
                    | "preferredauthentications"
                    | "kbdinteractiveauthentication"
                    | "passwordauthentication"
                    | "pubkeyauthentication"
                    | "gssapiauthentication"
                    | "forwardagent"
                    | "globalknownhostsfile"
                    | "hashknownhosts"
                    | "checkhostip"
                    | "updatehostkeys"
                    | "addkeystoagent" => {}
                    "proxyjump" | "proxycommand" => {
                        return Err(ConnError::unreachable(format!(
                            "{var} of {name} asks for {key} {value}: srplay does not tunnel SSH through a jump host yet; run srplay from a machine that reaches {address} directly"
                        )));
                    }
                    _ => {
                        return Err(ConnError::unreachable(format!(
                            "{var} of {name}: the SSH option {key} is not supported by srplay's SSH transport (supported: UserKnownHostsFile, StrictHostKeyChecking, and options with no effect such as ControlMaster)"
                        )));
                    }
                }
            }
        }
        if known_hosts_files.is_empty() {
            known_hosts_files.push(expand_home("~/.ssh/known_hosts"));
            known_hosts_files.push(expand_home("~/.ssh/known_hosts2"));
        }
        known_hosts_files.push("/etc/ssh/ssh_known_hosts".into());
        Ok(SshTarget {
            name: name.to_string(),
            address,
            port,
            user,
            private_key_file,
            password,
            connect_timeout: Duration::from_secs(timeout),
            host_key_checking,
            known_hosts_files,
        })
    }

    /// `user@address` (with the port when it is not 22), for messages.
    pub fn display(&self) -> String {
        if self.port == 22 {
            format!("{}@{}", self.user, self.address)
        } else {
            format!("{}@{}:{}", self.user, self.address, self.port)
        }
    }
}

/// The `-o Key=Value` (and `-o Key Value`) options of an ssh argument string. Other
/// flags are refused with a clear message, except the ones that change nothing here.
fn ssh_options(text: &str, var: &str) -> ConnResult<Vec<(String, String)>> {
    let words = shlex::split(text)
        .ok_or_else(|| ConnError::unreachable(format!("cannot parse {var}: {text}")))?;
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let option = if word == "-o" {
            words.next().unwrap_or_default()
        } else if let Some(rest) = word.strip_prefix("-o") {
            rest.to_string()
        } else if word == "-J" {
            out.push(("ProxyJump".into(), words.next().unwrap_or_default()));
            continue;
        } else if matches!(
            word.as_str(),
            "-C" | "-q" | "-T" | "-tt" | "-t" | "-x" | "-4"
        ) {
            continue;
        } else {
            return Err(ConnError::unreachable(format!(
                "{var}: the ssh flag {word} is not supported by srplay's SSH transport (only -o options are)"
            )));
        };
        let (key, value) = match option.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => {
                let mut parts = option.splitn(2, char::is_whitespace);
                let key = parts.next().unwrap_or_default().to_string();
                (key, parts.next().unwrap_or_default().trim().to_string())
            }
        };
        out.push((key, value));
    }
    Ok(out)
}

fn expand_home(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => match std::env::var("HOME") {
            Ok(home) => format!("{}/{rest}", home.trim_end_matches('/')),
            Err(_) => path.to_string(),
        },
        None => path.to_string(),
    }
}

fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::effective())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "root".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    impl ConnVars for HashMap<&str, &str> {
        fn get_str(&self, name: &str) -> Option<String> {
            self.get(name).map(|s| s.to_string())
        }
    }

    fn defaults() -> SshDefaults {
        SshDefaults {
            timeout_secs: 10,
            host_key_checking: true,
            ..SshDefaults::default()
        }
    }

    #[test]
    fn variables_and_common_args() {
        let vars = HashMap::from([
            ("ansible_host", "10.0.0.5"),
            ("ansible_port", "2222"),
            ("ansible_user", "ops"),
            (
                "ansible_ssh_common_args",
                "-o UserKnownHostsFile=/tmp/kh -o 'StrictHostKeyChecking no' -o ControlMaster=auto",
            ),
        ]);
        let t = SshTarget::from_vars("node1", &vars, &defaults()).unwrap();
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("10.0.0.5", 2222, "ops")
        );
        assert_eq!(t.known_hosts_files[0], "/tmp/kh");
        assert!(!t.host_key_checking);
        assert_eq!(t.display(), "ops@10.0.0.5:2222");
    }

    #[test]
    fn unsupported_options_are_clear_errors() {
        let vars = HashMap::from([("ansible_ssh_common_args", "-o ProxyJump=bastion")]);
        let err = SshTarget::from_vars("n", &vars, &defaults()).unwrap_err();
        assert!(err.message.contains("jump host"), "{err}");
        assert!(err.unreachable);
        let vars = HashMap::from([("ansible_ssh_extra_args", "-L 80:x:80")]);
        let err = SshTarget::from_vars("n", &vars, &defaults()).unwrap_err();
        assert!(err.message.contains("-L"), "{err}");
        let vars = HashMap::from([("ansible_port", "ssh")]);
        assert!(SshTarget::from_vars("n", &vars, &defaults()).is_err());
    }
}
