//! `debug`: print a message (`msg`, default "Hello world!") or the value of an
//! expression (`var`, reported under the expression itself as key; an undefined one
//! shows "VARIABLE IS NOT DEFINED!"). `verbosity: N` shows it only at `-v` × N or more
//! (the task is skipped otherwise, "Verbosity threshold not met.").

use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct Debug;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("msg", Kind::Raw),
    Param::new("var", Kind::Str),
    Param::new("verbosity", Kind::Int).default("0"),
])
.mutually_exclusive(&[&["msg", "var"]]);

impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn connects(&self) -> bool {
        false
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if args.int("verbosity").unwrap_or(0) > i64::from(ctx.verbosity) {
            return Ok(ModuleResult {
                skipped: true,
                ..ModuleResult::ok()
            }
            .with("skipped_reason", "Verbosity threshold not met."));
        }
        if let Some(var) = args.str("var") {
            let value = match ctx.templating.eval(var) {
                Ok(value) => value,
                Err(e) if e.contains("undefined") => {
                    Value::String("VARIABLE IS NOT DEFINED!".to_string())
                }
                Err(e) => return Ok(ModuleResult::failed(e)),
            };
            return Ok(ModuleResult::ok().with(var, value));
        }
        Ok(match args.get("msg") {
            None => ModuleResult::ok().with_msg("Hello world!"),
            Some(Value::String(s)) => ModuleResult::ok().with_msg(s.clone()),
            // A list or dict stays structured, as Ansible prints it.
            Some(other) => ModuleResult::ok().with("msg", other.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn msg_default_and_structured() {
        let mut h = Harness::new();
        assert_eq!(
            h.run(&Debug, json!({})).msg.as_deref(),
            Some("Hello world!")
        );
        assert_eq!(
            h.run(&Debug, json!({"msg": "hi"})).msg.as_deref(),
            Some("hi")
        );
        let r = h.run(&Debug, json!({"msg": [1, 2]}));
        assert_eq!(r.data["msg"], json!([1, 2]));
        assert!(!r.changed);
    }

    #[test]
    fn var_is_keyed_by_its_expression() {
        let mut h = Harness::new().var("x", json!({"a": 1}));
        assert_eq!(
            h.run(&Debug, json!({"var": "x"})).data["x"],
            json!({"a": 1})
        );
        assert_eq!(
            h.run(&Debug, json!({"var": "nope"})).data["nope"],
            json!("VARIABLE IS NOT DEFINED!")
        );
    }

    #[test]
    fn verbosity_threshold() {
        // `ansible-playbook` with `debug: msg=hi verbosity=2` at -v0.
        let mut h = Harness::new();
        let r = h.run(&Debug, json!({"msg": "hi", "verbosity": 2}));
        assert!(r.skipped);
        assert_eq!(
            r.data["skipped_reason"],
            json!("Verbosity threshold not met.")
        );
    }
}
