//! `fail`: fail the task with `msg` (default "Failed as requested from task").

use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Fail;

static SPEC: ArgSpec =
    ArgSpec::new(&[Param::new("msg", Kind::Str).default("Failed as requested from task")]);

impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn connects(&self) -> bool {
        false
    }

    fn run(&self, args: &Args, _ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        Ok(ModuleResult::failed(
            args.str("msg").unwrap_or("Failed as requested from task"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn fails_with_the_message() {
        let mut h = Harness::new();
        let r = h.run(&Fail, json!({}));
        assert!(r.failed && !r.changed);
        assert_eq!(r.msg.as_deref(), Some("Failed as requested from task"));
        assert_eq!(
            h.run(&Fail, json!({"msg": "no"})).msg.as_deref(),
            Some("no")
        );
    }
}
