//! `srplay bundle create|verify|extract`: the offline bundle of an installer tree (see
//! the `bundle` layer and `docs/bundle.md`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};

use crate::bundle::{self, CreateOptions};
use crate::diagnostic::{Error, Result};
use crate::engine::exit;

#[derive(Args, Debug)]
#[command(after_help = "\
A bundle is one .tar.gz with a srplay-bundle-<version>/ directory: the srplay binary, \
ansible.cfg, the playbooks, roles/, inventory/, the package source as repo/, bundle.json and \
MANIFEST.sha256 (the SHA-256 of every file; `sha256sum -c MANIFEST.sha256` checks an \
extracted tree too). See docs/bundle.md.")]
pub struct BundleArgs {
    #[command(subcommand)]
    pub action: BundleAction,
}

#[derive(Subcommand, Debug)]
pub enum BundleAction {
    /// Pack the installer tree, this srplay and the package source into one .tar.gz.
    Create(CreateArgs),
    /// Check every file of a bundle against its manifest; exit non-zero on any difference.
    Verify {
        /// The bundle (.tar.gz).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Verify a bundle and extract it as DIR/srplay-bundle-<version>, all or nothing.
    Extract(ExtractArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  hack/offline/build-repo /tmp/repo && srplay bundle create --repo /tmp/repo
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) srplay bundle create --repo /tmp/repo -o site.tar.gz

The same tree gives the same bundle, byte for byte, when SOURCE_DATE_EPOCH is set (it then \
stands for every file's time). Skipped: .srplay/ and .git/ directories and editor backups. A \
symlink is packed as the file it points to when it stays inside the tree; one pointing out of \
the tree is refused.")]
pub struct CreateArgs {
    /// The installer tree, with playbooks/ and roles/.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,

    /// The package source (a flat apt repository: *.deb and Packages.gz) [default: ROOT/repo]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// Where to write the bundle [default: srplay-bundle-<version>.tar.gz]
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The srplay binary to pack (e.g. a release build) [default: this one]
    #[arg(long, value_name = "FILE")]
    pub binary: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Example:
  srplay bundle extract srplay-bundle-0.1.0.tar.gz -C /opt
  cd /opt/srplay-bundle-0.1.0 && ./srplay setup.yml -i inventory/hosts

The bundle is written to a temporary directory beside the target and renamed into place only \
once every file matched the manifest.")]
pub struct ExtractArgs {
    /// The bundle (.tar.gz).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Extract under this directory (created if missing).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = "."
    )]
    pub directory: PathBuf,

    /// Replace an existing non-empty srplay-bundle-<version> directory.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: BundleArgs, cwd: &Path) -> Result<i32> {
    match args.action {
        BundleAction::Create(a) => create(a, cwd),
        BundleAction::Verify { file } => {
            let v = bundle::verify(&cwd.join(&file))?;
            let whole = match &v.sum_file {
                Some(path) => format!(", the whole file matches {}", path.display()),
                None => String::new(),
            };
            println!(
                "{}: OK, {} files match the manifest{whole} (srplay {}, created {})",
                file.display(),
                v.files,
                v.info.srplay_version,
                v.info.created
            );
            Ok(exit::OK)
        }
        BundleAction::Extract(a) => {
            let done = bundle::extract(&cwd.join(&a.file), &cwd.join(&a.directory), a.force)?;
            let replaced = if done.replaced {
                " (replaced the old one)"
            } else {
                ""
            };
            println!(
                "{}: verified {} files, extracted to {}{replaced}",
                a.file.display(),
                done.verified.files,
                done.path.display()
            );
            Ok(exit::OK)
        }
    }
}

fn create(args: CreateArgs, cwd: &Path) -> Result<i32> {
    let start = Instant::now();
    let root = cwd.join(&args.root);
    let binary = match args.binary {
        Some(b) => cwd.join(b),
        None => std::env::current_exe()
            .map_err(|e| Error::other(format!("cannot find this srplay binary: {e}")))?,
    };
    let output = args
        .output
        .unwrap_or_else(|| format!("{}.tar.gz", bundle::top_dir(env!("CARGO_PKG_VERSION"))).into());
    let opts = CreateOptions {
        repo: args.repo.map_or_else(|| root.join("repo"), |r| cwd.join(r)),
        root,
        binary,
        output: cwd.join(&output),
        epoch: source_date_epoch()?,
    };
    let made = bundle::create(&opts)?;
    println!(
        "packed {} files ({}) into {} ({}) in {:.1}s\nsha256: {} (also in {}.sha256)",
        made.info.files,
        size(made.info.bytes),
        output.display(),
        size(made.compressed),
        start.elapsed().as_secs_f64(),
        made.sha256,
        output.display()
    );
    Ok(exit::OK)
}

/// `SOURCE_DATE_EPOCH`, the reproducible-builds convention: seconds since 1970.
fn source_date_epoch() -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map(Some).map_err(|_| {
            Error::options(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds"
            ))
            .with_hint("set it to a Unix time, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)")
        }),
        _ => Ok(None),
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}
