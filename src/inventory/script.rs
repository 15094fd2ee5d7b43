//! Executable inventory scripts (Ansible's `script` inventory plugin): run with `--list`,
//! read JSON `{group: {hosts, vars, children}, _meta: {hostvars: {..}}}`; without
//! `_meta.hostvars`, run once more per host with `--host NAME`.

use std::path::Path;
use std::process::Command;

use super::graph::Graph;
use crate::diagnostic::{Error, Result};
use crate::value::{Map, Value};

/// Run the script at `path` and add what it reports to `graph`.
pub(crate) fn parse(graph: &mut Graph, path: &Path) -> Result<()> {
    let data = run(path, &["--list"])?;
    let Value::Object(groups) = data else {
        return Err(script_error(path, "--list did not print a JSON object"));
    };
    let mut hosts: Vec<String> = Vec::new();
    let mut meta: Option<Map> = None;
    for (name, gdata) in &groups {
        if name == "_meta" {
            match gdata.get("hostvars") {
                Some(Value::Object(m)) => meta = Some(m.clone()),
                Some(other) => {
                    return Err(script_error(
                        path,
                        &format!(
                            "'_meta.hostvars' is a {} instead of a dict",
                            json_type(other)
                        ),
                    ));
                }
                None => {}
            }
            continue;
        }
        parse_group(graph, path, name, gdata, &mut hosts)?;
    }
    for host in hosts {
        let vars = match &meta {
            Some(m) => m.get(&host).cloned().unwrap_or(Value::Object(Map::new())),
            None => run(path, &["--host", &host])?,
        };
        let Value::Object(vars) = vars else {
            return Err(script_error(
                path,
                &format!(
                    "variables of host {host} are a {}, not a dict",
                    json_type(&vars)
                ),
            ));
        };
        let h = graph.add_host(&host, None, None);
        for (k, v) in vars {
            graph.set_host_var(h, &k, v);
        }
    }
    Ok(())
}

fn parse_group(
    graph: &mut Graph,
    path: &Path,
    name: &str,
    data: &Value,
    hosts: &mut Vec<String>,
) -> Result<()> {
    let g = graph.add_group(name);
    // Old formats: a bare list of hosts, or a dict that is the group's only host's vars.
    let data = match data {
        Value::Object(m)
            if ["hosts", "vars", "children"]
                .iter()
                .any(|k| m.contains_key(*k)) =>
        {
            data.clone()
        }
        Value::Object(m) => serde_json::json!({"hosts": [name], "vars": m}),
        other => serde_json::json!({ "hosts": other }),
    };
    if let Some(list) = data.get("hosts") {
        let Value::Array(list) = list else {
            return Err(script_error(
                path,
                &format!("'{name}.hosts' is a {} instead of a list", json_type(list)),
            ));
        };
        for host in list {
            let host = match host {
                Value::String(s) => s.clone(),
                other => crate::value::to_display_string(other),
            };
            graph.add_host(&host, Some(g), None);
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    if let Some(vars) = data.get("vars") {
        let Value::Object(vars) = vars else {
            return Err(script_error(
                path,
                &format!("'{name}.vars' is a {} instead of a dict", json_type(vars)),
            ));
        };
        for (k, v) in vars {
            graph.set_group_var(g, k, v.clone());
        }
    }
    if let Some(children) = data.get("children") {
        let names: Vec<String> = match children {
            Value::Array(items) => items.iter().map(crate::value::to_display_string).collect(),
            Value::Object(m) => m.keys().cloned().collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        };
        for child in names {
            let c = graph.add_group(&child);
            graph
                .add_child_group(g, c)
                .map_err(|m| script_error(path, &m))?;
        }
    }
    Ok(())
}

fn run(path: &Path, args: &[&str]) -> Result<Value> {
    let out = Command::new(path).args(args).output().map_err(|e| {
        Error::other(format!(
            "could not run inventory script {}: {e}",
            path.display()
        ))
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        return Err(script_error(
            path,
            &format!("{} failed ({}): {stderr}", args.join(" "), out.status),
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        script_error(
            path,
            &format!("{} did not print valid JSON: {e}", args.join(" ")),
        )
        .with_hint(if stderr.is_empty() {
            "an inventory script must print a JSON object on stdout".to_string()
        } else {
            format!("its stderr said: {stderr}")
        })
    })
}

fn script_error(path: &Path, msg: &str) -> Error {
    Error::parse(format!("inventory script {}: {msg}", path.display()))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
