//! `ping`: check that the host can be reached and acted on; returns `ping: pong`
//! (or `data`). With `data: crash` it fails, as Ansible's does, to test error paths.

use crate::connection::ExecRequest;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Ping;

static SPEC: ArgSpec = ArgSpec::new(&[Param::new("data", Kind::Str).default("pong")]);

impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let data = args.str("data").unwrap_or("pong");
        if data == "crash" {
            return Ok(ModuleResult::failed("boom"));
        }
        // One round trip proves the host runs commands, as Ansible's ping proves Python.
        let out = ctx
            .conn
            .exec(&ExecRequest::argv(vec!["true".to_string()]))?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "the host cannot run commands (rc={}): {}",
                out.rc,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(ModuleResult::ok().with("ping", data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn pong_or_data() {
        let mut h = Harness::new();
        let r = h.run(&Ping, json!({}));
        assert_eq!(r.data["ping"], json!("pong"));
        assert!(!r.changed);
        let r = h.run(&Ping, json!({"data": "hello"}));
        assert_eq!(r.data["ping"], json!("hello"));
        assert!(h.run(&Ping, json!({"data": "crash"})).failed);
    }
}
