//! Every command and nested command of `srplay` has a `--help` that says what it does
//! and documents each option, and the shell completions know every command. The tree
//! is read from the parser itself, so a command added later is checked too.

use std::process::Command;

use clap::CommandFactory;
use srplay::cli::Cli;

/// Each command below the top one, as the words that name it (`["node", "add"]`).
fn command_paths(
    cmd: &clap::Command,
    above: &[String],
    out: &mut Vec<(Vec<String>, clap::Command)>,
) {
    for sub in cmd.get_subcommands() {
        let mut path = above.to_vec();
        path.push(sub.get_name().to_string());
        out.push((path.clone(), sub.clone()));
        command_paths(sub, &path, out);
    }
}

fn all_commands() -> Vec<(Vec<String>, clap::Command)> {
    let mut out = vec![(Vec::new(), Cli::command())];
    command_paths(&Cli::command(), &[], &mut out);
    out
}

fn srplay(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_srplay"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("srplay runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_has_a_help_with_its_purpose_and_documented_options() {
    let commands = all_commands();
    assert!(
        commands.len() >= 12,
        "only {} commands found",
        commands.len()
    );
    for (path, cmd) in &commands {
        let shown = format!("srplay {}", path.join(" "));
        let about = cmd
            .get_about()
            .map(|a| a.to_string())
            .filter(|a| a.len() > 10)
            .unwrap_or_else(|| panic!("`{shown}` has no description"));
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(
                !help.trim().is_empty(),
                "`{shown}`: {} has no help",
                arg.get_id()
            );
        }

        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, stdout, stderr) = srplay(&args);
        assert_eq!(code, 0, "`{shown} --help` failed: {stderr}");
        // Help wraps long lines: compare with the whitespace folded.
        let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            fold(&stdout).contains(&fold(&about)),
            "`{shown} --help` lacks {about:?}:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("Usage: {}", shown.trim_end())),
            "{stdout}"
        );
    }
}

#[test]
fn completions_know_every_command() {
    let commands = all_commands();
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, stderr) = srplay(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        for (path, _) in commands.iter().filter(|(p, _)| !p.is_empty()) {
            let name = path.last().unwrap();
            assert!(
                script.contains(name.as_str()),
                "the {shell} script never mentions {name}"
            );
        }
        // Options of nested commands too, e.g. `bundle extract --force`.
        assert!(
            script.contains("force"),
            "{shell} lacks bundle extract's --force"
        );
    }
    let (_, bash, _) = srplay(&["completions", "bash"]);
    for (path, _) in commands.iter().filter(|(p, _)| !p.is_empty()) {
        // clap_complete names each command's case `srplay__subcmd__a__subcmd__b`.
        let case = format!("srplay__subcmd__{}", path.join("__subcmd__"));
        assert!(
            bash.contains(&case),
            "the bash script has no case for {}",
            path.join(" ")
        );
    }
    assert!(
        bash.contains("complete -F _srplay"),
        "not a bash completion script"
    );

    let (code, _, stderr) = srplay(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
    assert!(stderr.contains("possible values"), "{stderr}");
}
