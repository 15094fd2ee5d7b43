//! The items of a looped task: `loop:` (a list, possibly templated) and the
//! `with_<lookup>:` forms, whose terms are templated and handed to the lookup of that
//! name (the template layer's lookups, the same ones `lookup()`/`query()` call).

use crate::playbook::LoopSpec;
use crate::template::{Scope, Templar};
use crate::value::{self, Value};

/// Evaluate a task's loop to its items.
pub fn items(spec: &LoopSpec, templar: &Templar, scope: &Scope<'_>) -> Result<Vec<Value>, String> {
    match spec {
        LoopSpec::Loop(v) => match templar.render_value(v, scope).map_err(|e| e.message)? {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            other => Err(format!(
                "Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.",
                value::to_display_string(&other)
            )),
        },
        LoopSpec::With(name, terms) => {
            // As Ansible's `listify_lookup_plugin_terms`: a list is the terms, anything
            // else is one term.
            let terms = match templar.render_value(terms, scope).map_err(|e| e.message)? {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                other => vec![other],
            };
            templar.query(name, &terms, scope).map_err(|e| e.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::VarStack;
    use serde_json::json;

    fn with(name: &str, terms: Value) -> Result<Vec<Value>, String> {
        let vars = VarStack::new();
        let scope = Scope {
            vars: &vars,
            search_paths: &[],
        };
        items(&LoopSpec::With(name.into(), terms), &Templar::new(), &scope)
    }

    #[test]
    fn with_lookups_take_their_terms_as_ansible_listifies_them() {
        assert_eq!(
            with("items", json!([1, [2, 3]])).unwrap(),
            vec![json!(1), json!(2), json!(3)]
        );
        assert_eq!(
            with("sequence", json!("start=1 end=3 format=node%02d")).unwrap(),
            vec![json!("node01"), json!("node02"), json!("node03")]
        );
        assert_eq!(
            with("dict", json!({"a": 1})).unwrap(),
            vec![json!({"key": "a", "value": 1})]
        );
        assert_eq!(
            with("nested", json!([[1, 2], ["a"]])).unwrap(),
            vec![json!([1, "a"]), json!([2, "a"])]
        );
    }

    #[test]
    fn with_subelements_pops_the_key_from_the_parent() {
        let v = with("subelements", json!([[{"n": "a", "l": [1, 2]}], "l"])).unwrap();
        assert_eq!(v, vec![json!([{"n": "a"}, 1]), json!([{"n": "a"}, 2])]);
        assert!(
            with("subelements", json!([[{"n": "a"}], "l"]))
                .unwrap_err()
                .contains("could not find 'l'")
        );
    }

    #[test]
    fn unknown_lookup_is_an_error() {
        assert!(with("nosuch", json!([1])).unwrap_err().contains("nosuch"));
    }
}
