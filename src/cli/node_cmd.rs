use std::path::Path;

use clap::Args;

use crate::diagnostic::Error;

#[derive(Args, Debug)]
pub struct NodeArgs {}

pub fn run(_args: NodeArgs, _cwd: &Path) -> Result<i32, Error> {
    Ok(0)
}
