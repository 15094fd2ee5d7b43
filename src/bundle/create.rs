//! `bundle create`: the items of [`layout::collect`] as a `.tar.gz`, each file read once
//! (packed and summed together), then `bundle.json` and the manifest.
//!
//! Deterministic: entries in path order with uid/gid 0 and owner `root`, a gzip header
//! without name or time; with `SOURCE_DATE_EPOCH` set, every mtime and the creation
//! time are that epoch, so the same tree gives the same bytes. Atomic: written to a
//! temporary file beside the output and renamed over it once complete.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use tar::{EntryType, Header};

use super::info::{BundleInfo, FORMAT, INFO_NAME, top_dir};
use super::layout::{self, Item, ItemKind, Sources};
use super::manifest::{HashingReader, HashingWriter, MANIFEST_NAME, Manifest, sum_of};
use crate::diagnostic::{Error, Result};

pub struct CreateOptions {
    /// The installer tree: `playbooks/`, `roles/`, maybe `inventory/` and `ansible.cfg`.
    pub root: PathBuf,
    /// The flat apt repository packed as `repo/`.
    pub repo: PathBuf,
    /// The srplay binary packed as `srplay`.
    pub binary: PathBuf,
    pub output: PathBuf,
    /// `SOURCE_DATE_EPOCH`.
    pub epoch: Option<u64>,
}

/// What was packed.
#[derive(Debug)]
pub struct Created {
    pub info: BundleInfo,
    /// Size of the `.tar.gz`.
    pub compressed: u64,
    pub sha256: String,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The gzip header every bundle starts with: deflate, no flags, no name, time 0, no
/// extra flags at the default level, unknown OS. No sum covers these bytes, so `verify`
/// requires exactly them: then a change to any byte of a bundle is refused.
pub(super) const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

pub fn create(opts: &CreateOptions) -> Result<Created> {
    let items = layout::collect(&Sources {
        root: &opts.root,
        repo: &opts.repo,
        binary: &opts.binary,
        epoch: opts.epoch,
    })?;
    let (files, bytes) = items
        .iter()
        .fold((0, 0), |(n, total), item| match item.kind {
            ItemKind::File { size, .. } => (n + 1, total + size),
            ItemKind::Dir => (n, total),
        });
    let now = opts
        .epoch
        .unwrap_or_else(|| chrono::Utc::now().timestamp().max(0) as u64);
    let info = BundleInfo {
        format: FORMAT,
        srplay_version: VERSION.into(),
        created: rfc3339(now),
        files,
        bytes,
    };

    let dir = match opts.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".srplay-bundle-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| write_error(dir, &e))?;
    let (compressed, sha256) = write_archive(tmp.as_file_mut(), &items, &info, now)
        .map_err(|e| write_error(&opts.output, &e))?;
    let file = tmp.as_file();
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .and_then(|()| file.sync_all())
        .map_err(|e| write_error(&opts.output, &e))?;
    tmp.persist(&opts.output)
        .map_err(|e| write_error(&opts.output, &e.error))?;
    write_sum_file(&opts.output, &sha256)?;
    Ok(Created {
        info,
        compressed,
        sha256,
    })
}

/// The archive into `out`; returns the compressed size and its sum.
fn write_archive(
    out: &mut File,
    items: &[Item],
    info: &BundleInfo,
    now: u64,
) -> std::io::Result<(u64, String)> {
    let hashing = HashingWriter::new(BufWriter::new(out));
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_HEADER[9])
        .write(hashing, Compression::default());
    let mut tar = tar::Builder::new(gz);
    let top = top_dir(VERSION);
    append_dir(&mut tar, &top, 0o755, now)?;

    let mut manifest = Manifest::default();
    let info_json = info.to_json();
    manifest.insert(INFO_NAME.into(), sum_of(info_json.as_bytes()));
    let mut info_written = false;
    for item in items {
        // bundle.json takes its place in path order among the packed files.
        if !info_written && item.path.as_str() > INFO_NAME {
            append_bytes(
                &mut tar,
                &format!("{top}/{INFO_NAME}"),
                info_json.as_bytes(),
                now,
            )?;
            info_written = true;
        }
        let path = format!("{top}/{}", item.path);
        match &item.kind {
            ItemKind::Dir => append_dir(&mut tar, &path, item.mode, item.mtime)?,
            ItemKind::File { source, size } => {
                let sum = append_file(&mut tar, &path, source, *size, item.mode, item.mtime)?;
                manifest.insert(item.path.clone(), sum);
            }
        }
    }
    if !info_written {
        append_bytes(
            &mut tar,
            &format!("{top}/{INFO_NAME}"),
            info_json.as_bytes(),
            now,
        )?;
    }
    // Last, once every sum is known: a file is read only once.
    append_bytes(
        &mut tar,
        &format!("{top}/{MANIFEST_NAME}"),
        manifest.render().as_bytes(),
        now,
    )?;
    let gz = tar.into_inner()?;
    let (mut buffered, compressed, sum) = gz.finish()?.finish();
    buffered.flush()?;
    Ok((compressed, sum))
}

fn header(kind: EntryType, size: u64, mode: u32, mtime: u64) -> std::io::Result<Header> {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_username("root")?;
    h.set_groupname("root")?;
    Ok(h)
}

fn append_dir<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mode: u32,
    mtime: u64,
) -> std::io::Result<()> {
    let mut h = header(EntryType::Directory, 0, mode, mtime)?;
    tar.append_data(&mut h, path, std::io::empty())
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
    mtime: u64,
) -> std::io::Result<()> {
    let mut h = header(EntryType::Regular, data.len() as u64, 0o644, mtime)?;
    tar.append_data(&mut h, path, data)
}

/// Pack `source` as `path`, returning its sum. The header's size is the one read when
/// the tree was listed: a file that changed since fails the run instead of making a
/// bundle whose header and content disagree.
fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    source: &Path,
    size: u64,
    mode: u32,
    mtime: u64,
) -> std::io::Result<String> {
    let mut file = File::open(source).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot read {}: {e}", source.display()))
    })?;
    let mut h = header(EntryType::Regular, size, mode, mtime)?;
    let mut reader = HashingReader::new((&mut file).take(size));
    tar.append_data(&mut h, path, &mut reader)?;
    let (read, sum) = reader.finish();
    if read != size || file.read(&mut [0u8])? != 0 {
        return Err(std::io::Error::other(format!(
            "{} changed while it was being packed",
            source.display()
        )));
    }
    Ok(sum)
}

/// `FILE.sha256` beside the bundle, as `sha256sum FILE` prints it from its directory:
/// the one check that covers every byte (see `read::sum_file_path`).
fn write_sum_file(bundle: &Path, sha256: &str) -> Result<()> {
    let path = super::read::sum_file_path(bundle);
    let name = bundle.file_name().unwrap_or_default().to_string_lossy();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| write_error(&path, &e))?;
    tmp.write_all(format!("{sha256}  {name}\n").as_bytes())
        .and_then(|()| {
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
        })
        .map_err(|e| write_error(&path, &e))?;
    tmp.persist(&path)
        .map_err(|e| write_error(&path, &e.error))?;
    Ok(())
}

fn write_error(path: &Path, err: &std::io::Error) -> Error {
    Error::new(
        crate::diagnostic::ErrorKind::Io,
        format!("could not write the bundle {}: {err}", path.display()),
    )
}

fn rfc3339(epoch: u64) -> String {
    chrono::DateTime::from_timestamp(epoch as i64, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
