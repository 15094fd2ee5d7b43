//! Variables as Ansible scopes them. With the default `hash_behaviour = replace`, a
//! variable's value is the one from the highest-precedence level that defines it, so
//! the view is a stack of layers searched from the top: nothing is merged or copied
//! when a task starts on a host, only `Arc`s are pushed.
//!
//! Levels, lowest first (Ansible's documented order): role defaults · inventory
//! (group vars … host_vars files) · facts · play vars · vars_files · role vars · block
//! vars · task vars · include_vars · set_fact/register · role params · include params ·
//! extra vars · magic variables · loop variables.

use std::sync::Arc;

use crate::template::VarSource;
use crate::value::{Map, Value};

/// Builds the `hostvars` value when a template asks for it (it is large, so it is
/// only built on demand).
pub trait HostVarsProvider: Send + Sync {
    /// Every host's variables, by host name; built once and shared.
    fn hostvars(&self) -> Arc<Value>;
}

/// A stack of variable layers, lowest precedence first.
#[derive(Clone, Default)]
pub struct VarStack {
    layers: Vec<Arc<Map>>,
    hostvars: Option<Arc<dyn HostVarsProvider>>,
}

impl VarStack {
    pub fn new() -> VarStack {
        VarStack::default()
    }

    /// Add a layer above the others.
    pub fn push(&mut self, layer: Arc<Map>) {
        if !layer.is_empty() {
            self.layers.push(layer);
        }
    }

    /// Add a layer built from a map.
    pub fn push_map(&mut self, layer: Map) {
        self.push(Arc::new(layer));
    }

    /// A copy with one more layer on top.
    pub fn with(&self, layer: Arc<Map>) -> VarStack {
        let mut s = self.clone();
        s.push(layer);
        s
    }

    pub fn set_hostvars(&mut self, provider: Arc<dyn HostVarsProvider>) {
        self.hostvars = Some(provider);
    }

    /// Every variable flattened into one map (for `hostvars[h]` and `vars`).
    pub fn flatten(&self) -> Map {
        let mut out = Map::new();
        for layer in &self.layers {
            for (k, v) in layer.iter() {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

impl VarSource for VarStack {
    fn get(&self, name: &str) -> Option<Value> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.get(name) {
                return Some(v.clone());
            }
        }
        match name {
            "hostvars" => self.hostvars.as_ref().map(|p| (*p.hostvars()).clone()),
            "vars" => Some(Value::Object(self.flatten())),
            _ => None,
        }
    }

    fn get_shared(&self, name: &str) -> Option<Arc<Value>> {
        match (name, &self.hostvars) {
            ("hostvars", Some(p)) if !self.layers.iter().any(|l| l.contains_key(name)) => {
                Some(p.hostvars())
            }
            _ => self.get(name).map(Arc::new),
        }
    }

    fn names(&self) -> Vec<String> {
        let mut names: indexmap::IndexSet<String> = indexmap::IndexSet::new();
        for layer in &self.layers {
            names.extend(layer.keys().cloned());
        }
        if self.hostvars.is_some() {
            names.insert("hostvars".to_string());
        }
        names.into_iter().collect()
    }
}

/// Facts as variables: the `ansible_facts` dict plus each fact under the name `setup`
/// returns it by (`ansible_<name>`; Ansible's `INJECT_FACTS_AS_VARS`).
pub fn facts_layer(facts: &Map) -> Map {
    let mut out = Map::new();
    for (k, v) in facts {
        out.insert(crate::facts::module_name(k), v.clone());
    }
    out.insert("ansible_facts".to_string(), Value::Object(facts.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(v: Value) -> Arc<Map> {
        Arc::new(v.as_object().unwrap().clone())
    }

    #[test]
    fn higher_layers_replace_whole_values() {
        let mut s = VarStack::new();
        s.push(layer(json!({"a": {"x": 1}, "b": 1})));
        s.push(layer(json!({"a": {"y": 2}})));
        assert_eq!(s.get("a"), Some(json!({"y": 2})));
        assert_eq!(s.get("b"), Some(json!(1)));
        assert_eq!(s.get("c"), None);
        assert_eq!(s.names(), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn facts_are_injected_with_prefix() {
        let f = facts_layer(
            json!({"hostname": "h1", "ansible_local": {}, "module_setup": true})
                .as_object()
                .unwrap(),
        );
        assert_eq!(f.get("ansible_hostname"), Some(&json!("h1")));
        assert_eq!(f.get("module_setup"), Some(&json!(true)));
        assert_eq!(f.get("ansible_module_setup"), None);
        assert_eq!(f.get("ansible_local"), Some(&json!({})));
        assert_eq!(f["ansible_facts"]["hostname"], json!("h1"));
    }
}
