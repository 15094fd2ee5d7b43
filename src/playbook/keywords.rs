//! The keywords Ansible accepts on plays, blocks, tasks and role entries. Anything
//! else on a task is its action (module); anything else on a play is an error.

/// Keywords shared by plays, blocks, roles and tasks (see `ast::Keywords`).
pub const COMMON: &[&str] = &[
    "name",
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "check_mode",
    "diff",
    "run_once",
    "any_errors_fatal",
    "delegate_to",
    "delegate_facts",
    "environment",
    "connection",
    "remote_user",
    "throttle",
    "timeout",
    "collections",
    "module_defaults",
    "debugger",
    "port",
];

/// Keywords of a task besides [`COMMON`].
pub const TASK: &[&str] = &[
    "action",
    "local_action",
    "args",
    "register",
    "loop",
    "loop_control",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "notify",
    "async",
    "poll",
    "listen",
];

/// Keywords of a block besides [`COMMON`].
pub const BLOCK: &[&str] = &["block", "rescue", "always"];

/// Keywords of a play besides [`COMMON`].
pub const PLAY: &[&str] = &[
    "hosts",
    "vars_files",
    "vars_prompt",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "serial",
    "strategy",
    "max_fail_percentage",
    "order",
    "force_handlers",
];

/// Keywords of a `roles:` entry besides [`COMMON`]; other keys are role params.
pub const ROLE: &[&str] = &["role"];

pub fn is_task_keyword(k: &str) -> bool {
    COMMON.contains(&k) || TASK.contains(&k) || k.starts_with("with_")
}

pub fn is_block_keyword(k: &str) -> bool {
    COMMON.contains(&k) || BLOCK.contains(&k)
}

pub fn is_play_keyword(k: &str) -> bool {
    COMMON.contains(&k) || PLAY.contains(&k)
}
