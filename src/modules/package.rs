//! `package`: install or remove packages with the host's own package manager: `use`,
//! else the `pkg_mgr` fact, else the first of `apt-get`, `dnf`, `yum` found on the host.
//! Every argument but `use` goes to that module (`apt`, `dnf` or `yum`), which checks
//! them with its own spec, so `state: installed` works on dnf hosts and fails on apt
//! ones, as with Ansible.

use crate::connection::Connection;
use crate::modules::system::{fact, has_command};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param, apt, dnf,
};

pub struct Package;

// Open: the rest of the arguments belong to the module it dispatches to.
static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Raw).required(),
    Param::new("state", Kind::Str).required(),
    Param::new("use", Kind::Str).default("auto"),
])
.open();

impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let manager = match args.str("use").filter(|u| *u != "auto") {
            Some(chosen) => Some(chosen.to_string()),
            None => match fact(ctx, "pkg_mgr") {
                Some(m) => Some(m),
                None => detect(ctx.conn)?,
            },
        };
        let Some(manager) = manager else {
            return Ok(ModuleResult::failed(
                "Could not detect which package manager to use. Try gathering facts or setting the \"use\" option.",
            ));
        };
        let backend: &dyn Module = match manager.as_str() {
            "apt" => &apt::Apt,
            "dnf" | "dnf5" => &dnf::Dnf::DNF,
            "yum" => &dnf::Dnf::YUM,
            other => {
                return Ok(ModuleResult::failed(format!(
                    "srplay's package module does not support the package manager '{other}' (apt, dnf and yum are)"
                )));
            }
        };
        let mut raw = args.0.clone();
        raw.remove("use");
        let backend_args = backend.spec().validate(backend.name(), &raw)?;
        backend.run(&backend_args, ctx)
    }
}

fn detect(conn: &mut dyn Connection) -> Result<Option<String>, String> {
    for (program, manager) in [("apt-get", "apt"), ("dnf", "dnf"), ("yum", "yum")] {
        if has_command(conn, program)? {
            return Ok(Some(manager.to_string()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    #[test]
    fn the_pkg_mgr_fact_picks_the_module() {
        let conn = FakeConnection::new().on("^rpm -q", 1, "package hello is not installed\n");
        let mut h = Harness::fake(conn).var("ansible_facts['pkg_mgr']", json!("dnf"));
        let r = h.run(&Package, json!({"name": "hello", "state": "installed"}));
        assert!(r.changed);
        assert_eq!(h.conn.ran("^dnf -y install hello$").len(), 1);
    }

    #[test]
    fn without_facts_the_host_is_asked() {
        let conn = FakeConnection::new()
            .on("sh apt-get$", 0, "/usr/bin/apt-get\n")
            .on("^dpkg-query", 1, "");
        let mut h = Harness::fake(conn);
        let r = h.run(&Package, json!({"name": ["hello"], "state": "present"}));
        assert!(r.changed);
        assert_eq!(h.conn.ran(" install hello$").len(), 1);
    }

    #[test]
    fn the_backend_checks_the_arguments() {
        let mut h = Harness::fake(FakeConnection::new());
        let err = h
            .try_run(
                &Package,
                json!({"name": "hello", "state": "installed", "use": "apt"}),
            )
            .unwrap_err();
        assert!(err.contains("value of state must be one of"), "{err}");
        let mut h = Harness::fake(FakeConnection::new().on("command -v", 1, ""));
        let r = h.run(&Package, json!({"name": "hello", "state": "present"}));
        assert!(r.failed);
        assert!(
            r.msg
                .unwrap()
                .starts_with("Could not detect which package manager")
        );
    }
}
