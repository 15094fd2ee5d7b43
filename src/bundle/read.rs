//! Reading a bundle: one pass over the `.tar.gz` that checks every entry (a plain path
//! under the one top directory, a directory or regular file, seen once) and hashes
//! every file, then compares with the manifest. The entries go to a [`Sink`]: nowhere
//! for `verify`, a temporary directory for `extract`.
//!
//! Every byte counts: the gzip header must be the one `create` writes, the stream is
//! read to its end so that gzip's CRC covers every byte of the tar, and nothing may
//! follow it. Problems with entries are collected, so one run names every bad file; a stream
//! that cannot be read (a changed compressed byte, usually) ends the pass at once.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use tar::EntryType;

use super::create::GZIP_HEADER;
use super::info::{BundleInfo, INFO_NAME, top_dir};
use super::manifest::{HashingReader, MANIFEST_NAME, Manifest, Sum};
use crate::diagnostic::{Error, Result};

/// Where the entries of a bundle go as they are read. Only paths that passed the
/// checks reach it, with the top directory first.
pub(super) trait Sink {
    fn dir(&mut self, path: &str, mode: u32) -> io::Result<()>;
    fn file(&mut self, path: &str, mode: u32, mtime: u64, data: &mut dyn Read) -> io::Result<()>;
}

/// A bundle that passed every check.
#[derive(Debug)]
pub struct Verified {
    /// Its top directory, `srplay-bundle-<version>`.
    pub top: String,
    pub info: BundleInfo,
    /// Files in the manifest, `bundle.json` included.
    pub files: usize,
    /// The sum file `create` wrote beside the bundle, when there was one and it matched.
    pub sum_file: Option<PathBuf>,
}

/// `bundle verify`: read the whole bundle, keep nothing.
pub fn verify(bundle: &Path) -> Result<Verified> {
    scan(bundle, &mut Discard)
}

struct Discard;

impl Sink for Discard {
    fn dir(&mut self, _: &str, _: u32) -> io::Result<()> {
        Ok(())
    }

    fn file(&mut self, _: &str, _: u32, _: u64, data: &mut dyn Read) -> io::Result<()> {
        io::copy(data, &mut io::sink()).map(drop)
    }
}

/// The manifest and description are read into memory; anything bigger than this under
/// their names is not what create writes.
const DESCRIPTION_LIMIT: u64 = 64 << 20;

/// What one pass saw.
#[derive(Default)]
struct Seen {
    top: Option<String>,
    paths: HashSet<String>,
    /// Each regular file below the top directory, with its sum.
    sums: BTreeMap<String, Sum>,
    manifest: Option<Vec<u8>>,
    info: Option<Vec<u8>>,
    problems: Vec<String>,
}

pub(super) fn scan(bundle: &Path, sink: &mut dyn Sink) -> Result<Verified> {
    let file = File::open(bundle).map_err(|e| Error::io(bundle, &e))?;
    let mut file = BufReader::new(HashingReader::new(file));
    let mut seen = Seen::default();
    let mut head = [0u8; GZIP_HEADER.len()];
    file.read_exact(&mut head)
        .map_err(|e| damaged(bundle, &e))?;
    if head != GZIP_HEADER {
        seen.problems.push(format!(
            "its gzip header is {head:02x?}, not the {GZIP_HEADER:02x?} srplay writes"
        ));
    }
    let mut gz = GzDecoder::new(io::Cursor::new(head).chain(file));
    read_entries(&mut gz, sink, &mut seen).map_err(|e| damaged(bundle, &e))?;
    // The tar reader stops at the end-of-archive blocks; reading on to the end of the
    // gzip member makes the decoder check its CRC over every byte, padding included.
    // What follows those blocks must be zeros: entries hidden there are seen by no
    // tar reader, so nothing would check them.
    if !only_zeros(&mut gz).map_err(|e| damaged(bundle, &e))? {
        seen.problems
            .push("data follows the end of the tar archive".into());
    }
    let (_, mut rest) = gz.into_inner().into_inner();
    let trailing = io::copy(&mut rest, &mut io::sink()).map_err(|e| damaged(bundle, &e))?;
    if trailing > 0 {
        seen.problems.push(format!(
            "{trailing} bytes follow the end of the compressed archive"
        ));
    }
    let (_, whole) = rest.into_inner().finish();
    let sum_file = check_sum_file(bundle, &whole, &mut seen.problems);
    let verified = seen.check().map(|v| Verified { sum_file, ..v });
    match verified {
        Ok(v) if seen.problems.is_empty() => Ok(v),
        _ => Err(failed(bundle, &seen.problems)),
    }
}

fn read_entries(gz: &mut dyn Read, sink: &mut dyn Sink, seen: &mut Seen) -> io::Result<()> {
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path_bytes().into_owned();
        let Ok(name) = String::from_utf8(raw) else {
            seen.problems
                .push("an entry has a name that is not UTF-8".into());
            continue;
        };
        let kind = entry.header().entry_type();
        let is_dir = kind == EntryType::Directory;
        // Directories may be written `dir/`; nothing else may end in a slash.
        let path = match name.strip_suffix('/') {
            Some(p) if is_dir => p.to_string(),
            _ => name.clone(),
        };
        if let Some(why) = super::bad_path(&path) {
            seen.problems.push(format!("{name:?} is refused: {why}"));
            continue;
        }
        let (first, below) = match path.split_once('/') {
            Some((first, below)) => (first, Some(below)),
            None => (path.as_str(), None),
        };
        match &seen.top {
            None if first.starts_with("srplay-bundle-") => seen.top = Some(first.to_string()),
            None => {
                return Err(io::Error::other(format!(
                    "its first entry {name:?} is not under a srplay-bundle-<version>/ directory"
                )));
            }
            Some(top) if top != first => {
                seen.problems
                    .push(format!("{name:?} is outside the top directory {top}/"));
                continue;
            }
            Some(_) => {}
        }
        if !seen.paths.insert(path.clone()) {
            seen.problems.push(format!("{path} appears twice"));
            continue;
        }
        let mode = entry.header().mode()? & 0o777;
        match (kind, below) {
            (EntryType::Directory, _) => sink.dir(&path, mode)?,
            (EntryType::Regular, Some(below)) => {
                let mtime = entry.header().mtime()?;
                let described = below == MANIFEST_NAME || below == INFO_NAME;
                let sum = if described {
                    let mut data = Vec::new();
                    let mut reader = HashingReader::new((&mut entry).take(DESCRIPTION_LIMIT));
                    reader.read_to_end(&mut data)?;
                    sink.file(&path, mode, mtime, &mut data.as_slice())?;
                    let slot = if below == MANIFEST_NAME {
                        &mut seen.manifest
                    } else {
                        &mut seen.info
                    };
                    *slot = Some(data);
                    reader.finish().1
                } else {
                    let mut reader = HashingReader::new(&mut entry);
                    sink.file(&path, mode, mtime, &mut reader)?;
                    reader.finish().1
                };
                seen.sums.insert(below.to_string(), sum);
            }
            (EntryType::Regular, None) => seen.problems.push(format!(
                "{path} is a file where the top directory should be"
            )),
            (EntryType::Symlink | EntryType::Link, _) => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                seen.problems.push(format!(
                    "{path} is a link to {target:?}: a bundle holds no links"
                ));
            }
            (kind, _) => seen.problems.push(format!(
                "{path} is a {kind:?} entry: a bundle holds only directories and regular files"
            )),
        }
    }
    Ok(())
}

impl Seen {
    /// Compare what was read with the manifest and description, adding to `problems`.
    fn check(&mut self) -> std::result::Result<Verified, ()> {
        let Some(top) = self.top.clone() else {
            self.problems.push("the archive is empty".into());
            return Err(());
        };
        let Some(text) = self.manifest.take() else {
            self.problems
                .push(format!("{top}/{MANIFEST_NAME} is missing"));
            return Err(());
        };
        let manifest = String::from_utf8(text)
            .map_err(|_| format!("{MANIFEST_NAME} is not UTF-8 text"))
            .and_then(|t| Manifest::parse(&t));
        let manifest = match manifest {
            Ok(m) => m,
            Err(why) => {
                self.problems.push(why);
                return Err(());
            }
        };
        for (path, sum) in &self.sums {
            match manifest.get(path) {
                _ if path == MANIFEST_NAME => {}
                None => self.problems.push(format!("{path} is not in the manifest")),
                Some(listed) if listed != sum => self.problems.push(format!(
                    "{path} does not match its sum in the manifest: it was changed"
                )),
                Some(_) => {}
            }
        }
        for path in manifest.paths() {
            if !self.sums.contains_key(path) {
                self.problems.push(format!(
                    "{path} is listed in the manifest but not in the bundle"
                ));
            }
        }
        let info = match self.info.take().map(|t| BundleInfo::parse(&t)) {
            Some(Ok(info)) => info,
            Some(Err(why)) => {
                self.problems.push(why);
                return Err(());
            }
            None => {
                // When the manifest lists it, its absence is already reported.
                if manifest.get(INFO_NAME).is_none() {
                    self.problems.push(format!("{top}/{INFO_NAME} is missing"));
                }
                return Err(());
            }
        };
        if top != top_dir(&info.srplay_version) {
            self.problems.push(format!(
                "{INFO_NAME} says srplay {} but the top directory is {top}/",
                info.srplay_version
            ));
        }
        if info.files + 1 != manifest.len() as u64 {
            self.problems.push(format!(
                "{INFO_NAME} counts {} files but the manifest lists {} besides it",
                info.files,
                manifest.len().saturating_sub(1)
            ));
        }
        Ok(Verified {
            top,
            info,
            files: manifest.len(),
            sum_file: None,
        })
    }
}

/// Read `r` to its end: were all its bytes zero?
fn only_zeros(r: &mut dyn Read) -> io::Result<bool> {
    let mut buf = [0u8; 8192];
    let mut zeros = true;
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(zeros),
            n => zeros &= buf[..n].iter().all(|&b| b == 0),
        }
    }
}

/// A few bytes of the compressed stream are covered by no check (deflate has some
/// slack, e.g. in its code tables), so `create` also writes `FILE.sha256`, the sum of
/// the whole file as `sha256sum` prints it: when it is there, it must match.
pub(super) fn sum_file_path(bundle: &Path) -> PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn check_sum_file(bundle: &Path, whole: &str, problems: &mut Vec<String>) -> Option<PathBuf> {
    let path = sum_file_path(bundle);
    let text = fs::read_to_string(&path).ok()?;
    let listed = text.split_whitespace().next().unwrap_or_default();
    if listed == whole {
        Some(path)
    } else {
        problems.push(format!(
            "its sha256 is {whole}, not the {listed} of {}",
            path.display()
        ));
        None
    }
}

fn damaged(bundle: &Path, err: &io::Error) -> Error {
    Error::other(format!(
        "{} is damaged or not a srplay bundle: {err}",
        bundle.display()
    ))
    .with_hint(REFETCH)
}

fn failed(bundle: &Path, problems: &[String]) -> Error {
    const SHOWN: usize = 20;
    let mut message = format!("{} failed verification:", bundle.display());
    for p in problems.iter().take(SHOWN) {
        message.push_str("\n  - ");
        message.push_str(p);
    }
    if problems.len() > SHOWN {
        message.push_str(&format!("\n  … and {} more", problems.len() - SHOWN));
    }
    Error::other(message).with_hint(REFETCH)
}

const REFETCH: &str = "the bundle was changed or damaged after it was made: copy it again \
from where it was built and compare its sha256 with the one `srplay bundle create` printed";
