//! Actions the engine carries out itself (they change the run, not a host), as
//! opposed to modules. Both are valid task actions.

/// Actions handled by the engine, by short name.
pub const ENGINE_ACTIONS: &[&str] = &[
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "include_vars",
    "set_fact",
    "meta",
    "add_host",
    "group_by",
    "import_playbook",
    "set_stats",
    "setup",
    "gather_facts",
    "wait_for_connection",
];

/// Actions that take a free-form argument (`include_tasks: file.yml`).
pub const FREE_FORM_ENGINE_ACTIONS: &[&str] = &[
    "include_tasks",
    "import_tasks",
    "include_vars",
    "meta",
    "import_playbook",
];

pub fn is_engine_action(name: &str) -> bool {
    ENGINE_ACTIONS.contains(&name)
}

/// Is `name` (short or FQCN) an action srplay can run?
pub fn is_known(name: &str) -> bool {
    let short = crate::modules::short_name(name);
    is_engine_action(short) || crate::modules::lookup(short).is_some()
}

/// Every action name, for "did you mean".
pub fn all_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ENGINE_ACTIONS.to_vec();
    names.extend(crate::modules::registry().iter().map(|m| m.name()));
    names
}

/// Does the action take free-form text (so `k=v` parsing keeps the rest as `_raw_params`)?
pub fn takes_free_form(name: &str) -> bool {
    FREE_FORM_ENGINE_ACTIONS.contains(&name)
        || crate::modules::lookup(name).is_some_and(|m| m.spec().free_form)
}
