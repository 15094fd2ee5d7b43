//! The playbook layer: YAML → typed plays, blocks, tasks and roles ([`ast`]), loaded
//! and checked by [`Loader`].

pub mod actions;
pub mod ast;
pub mod keywords;
pub mod kv;
mod load;

pub use ast::*;
pub use load::{
    Loader, RoleFiles, TaskFileCtx, import_target, parse_task_node, resolve_task_file, role_args,
    set_keyword_value,
};
