//! `assert`: check conditions (`that`, one expression or a list), each as `when:`
//! evaluates it. Fails at the first false one with `fail_msg` (alias `msg`, default
//! "Assertion failed"), `assertion` (the expression) and `evaluated_to: false`;
//! otherwise "All assertions passed" or `success_msg`. `quiet` only quiets display.

use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{self, Value};

pub struct Assert;

static SPEC: ArgSpec = ArgSpec::new(&[
    // Raw, not List: a condition string must not be split on its commas.
    Param::new("that", Kind::Raw).required(),
    Param::new("fail_msg", Kind::Raw).aliases(&["msg"]),
    Param::new("success_msg", Kind::Raw),
    Param::new("quiet", Kind::Bool).default("no"),
]);

impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn connects(&self) -> bool {
        false
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let conditions: Vec<String> = match args.get("that") {
            Some(Value::Array(items)) => items.iter().map(value::to_display_string).collect(),
            Some(other) => vec![value::to_display_string(other)],
            None => Vec::new(),
        };
        for condition in &conditions {
            let holds = ctx.templating.condition(condition)?;
            if !holds {
                let mut result = ModuleResult {
                    failed: true,
                    ..ModuleResult::default()
                };
                set_msg(&mut result, args.get("fail_msg"), "Assertion failed");
                return Ok(result
                    .with("assertion", condition.as_str())
                    .with("evaluated_to", false));
            }
        }
        let mut result = ModuleResult::ok();
        set_msg(
            &mut result,
            args.get("success_msg"),
            "All assertions passed",
        );
        Ok(result)
    }
}

/// A message parameter may be a string or any value (a list prints as one).
fn set_msg(result: &mut ModuleResult, given: Option<&Value>, default: &str) {
    match given {
        None => result.msg = Some(default.to_string()),
        Some(Value::String(s)) => result.msg = Some(s.clone()),
        Some(other) => {
            result.data.insert("msg".to_string(), other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn passes_and_fails_like_ansible() {
        let mut h = Harness::new().var("a", json!(1)).var("t", json!(true));
        let r = h.run(&Assert, json!({"that": ["a == 1", "t"]}));
        assert!(!r.failed);
        assert_eq!(r.msg.as_deref(), Some("All assertions passed"));
        let r = h.run(&Assert, json!({"that": ["a == 1", "a == 2"]}));
        assert!(r.failed);
        assert_eq!(r.msg.as_deref(), Some("Assertion failed"));
        assert_eq!(r.data["assertion"], json!("a == 2"));
        assert_eq!(r.data["evaluated_to"], json!(false));
        let r = h.run(&Assert, json!({"that": "a == 2", "msg": "boom"}));
        assert_eq!(r.msg.as_deref(), Some("boom"));
        let r = h.run(
            &Assert,
            json!({"that": "t", "success_msg": "yay", "quiet": true}),
        );
        assert_eq!(r.msg.as_deref(), Some("yay"));
    }

    #[test]
    fn an_undefined_name_is_an_error() {
        let mut h = Harness::new();
        assert!(h.try_run(&Assert, json!({"that": "nope"})).is_err());
        assert!(h.try_run(&Assert, json!({})).unwrap_err().contains("that"));
    }
}
