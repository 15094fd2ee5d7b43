//! `srplay completions SHELL`: the shell completion script, generated from the same
//! clap definitions as the parser, so it always knows every command and option.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use crate::engine::exit;

#[derive(Args, Debug)]
#[command(after_help = "\
Install:
  bash: srplay completions bash > /etc/bash_completion.d/srplay
  zsh:  srplay completions zsh > \"${fpath[1]}/_srplay\"
  fish: srplay completions fish > ~/.config/fish/completions/srplay.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> i32 {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "srplay",
        &mut std::io::stdout(),
    );
    exit::OK
}
