//! `srplay inventory`: the inventory as `ansible-inventory` shows it, byte for byte:
//! `--list` and `--host` as JSON (`json.dumps(indent=4, sort_keys=True)`) or YAML,
//! `--graph` as its `@group:` tree.

use std::path::{Path, PathBuf};

use clap::{ArgAction, ArgGroup, Args};

use super::Config;
use crate::diagnostic::Error;
use crate::engine::exit;
use crate::inventory::Inventory;
use crate::value::{Value, json_dumps};

#[derive(Args, Debug)]
#[command(
    group(ArgGroup::new("action").required(true).args(["list", "graph", "host"])),
    after_help = "Examples:\n  srplay inventory -i inventory/hosts --list\n  srplay inventory -i inventory/hosts --graph new-compute\n  srplay inventory -i inventory/hosts --host node-1"
)]
pub struct InventoryArgs {
    /// Inventory: a file, a directory, or a comma-separated host list ("h1,h2,").
    #[arg(short = 'i', long = "inventory", visible_alias = "inventory-file", value_name = "INVENTORY", action = ArgAction::Append)]
    pub inventory: Vec<String>,

    /// Print every group and host, with each host's variables under `_meta.hostvars`.
    #[arg(long)]
    pub list: bool,

    /// Print the group tree below GROUP (default `all`).
    #[arg(long)]
    pub graph: bool,

    /// Print one host's variables.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// The group to start the graph at.
    #[arg(value_name = "GROUP", requires = "graph")]
    pub group: Option<String>,

    /// Also read group_vars/ and host_vars/ beside this playbook directory.
    #[arg(long = "playbook-dir", value_name = "DIR")]
    pub playbook_dir: Option<PathBuf>,

    /// YAML instead of JSON (with --list and --host).
    #[arg(short = 'y', long)]
    pub yaml: bool,

    #[command(flatten)]
    pub vault: super::args::VaultPasswordArgs,
}

pub fn run(args: InventoryArgs, cwd: &Path) -> Result<i32, Error> {
    let config = Config::load(cwd)?;
    super::vault_cmd::install_secrets(&args.vault, &config)?;
    let sources = super::inventory_sources(&args.inventory, &config);
    let inventory = Inventory::load(&sources, cwd)?;
    for w in inventory.warnings() {
        eprintln!("[WARNING]: {w}");
    }
    let playbook_dir = args.playbook_dir.as_ref().map(|d| cwd.join(d));
    let text = if let Some(pattern) = &args.host {
        let hosts = inventory.select(pattern)?;
        let [host] = hosts.as_slice() else {
            return Err(
                Error::options("You must pass a single valid host to --host parameter")
                    .with_hint(match hosts.len() {
                        0 => format!("no host matches '{pattern}'; `srplay inventory --graph` shows the hosts"),
                        n => format!("'{pattern}' matches {n} hosts"),
                    }),
            );
        };
        dump(
            &Value::Object(inventory.host_vars(host, playbook_dir.as_deref())?),
            args.yaml,
        )
    } else if args.graph {
        let group = args.group.as_deref().unwrap_or("all");
        inventory.to_graph(group).ok_or_else(|| {
            let mut err = Error::options("Pattern must be valid group name when using --graph");
            let names = inventory.group_names_all();
            if let Some(near) = crate::diagnostic::nearest(group, names.iter().map(String::as_str))
            {
                err = err.with_hint(format!("did you mean {near}?"));
            }
            err
        })?
    } else if args.yaml {
        dump(
            &inventory.to_list_yaml_value(playbook_dir.as_deref())?,
            true,
        )
    } else {
        dump(&inventory.to_list_json(playbook_dir.as_deref())?, false)
    };
    println!("{text}");
    Ok(exit::OK)
}

/// `InventoryCLI.dump`: JSON with 4-space indent and sorted keys, or block-style YAML.
fn dump(v: &Value, yaml: bool) -> String {
    if yaml {
        let mut text = crate::template::yaml_dump(v, 2, true, true);
        // `display.display` adds the newline `println!` adds.
        if text.ends_with('\n') {
            text.pop();
        }
        text
    } else {
        json_dumps(v, Some(4), true)
    }
}
