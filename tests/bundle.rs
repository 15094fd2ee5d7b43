//! `srplay bundle create|verify|extract` end to end on a small fake installer tree:
//! a round trip that `sha256sum -c` agrees with, byte-identical output for the same
//! tree, and every kind of bad bundle (changed byte, extra, missing, duplicate, path
//! traversal, links) refused with a message that names it and nothing written.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

const TOP: &str = concat!("srplay-bundle-", env!("CARGO_PKG_VERSION"));
const EPOCH: &str = "1700000000";

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A work directory with an installer tree in `src/`, a package source in `pkgs/`
/// and a small stand-in for the srplay binary (the real one is 100 MiB in debug).
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let site = Site {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let site = site
            .file("src/ansible.cfg", "[defaults]\nroles_path = roles\n")
            .file(
                "src/playbooks/setup.yml",
                "- import_playbook: 10.etcd.yml\n",
            )
            .file(
                "src/playbooks/10.etcd.yml",
                "- hosts: manage\n  roles: [etcd]\n",
            )
            .file("src/playbooks/notes.txt", "not a playbook\n")
            .file("src/roles/etcd/tasks/main.yml", "- debug: msg=etcd\n")
            .file("src/roles/etcd/files/check.sh", "#!/bin/sh\nexit 0\n")
            .file("src/roles/etcd/defaults/main.yml", "etcd_port: 2379\n")
            .file("src/inventory/hosts", "[manage]\nm1\n")
            .file("pkgs/Packages.gz", "index")
            .file("pkgs/etcd-server_3.5_amd64.deb", &"deb".repeat(5000))
            .file("fake-srplay", "#!/bin/sh\necho srplay\n");
        site.chmod("src/roles/etcd/files/check.sh", 0o750);
        site
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(self, name: &str, text: &str) -> Site {
        let path = self.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        self
    }

    fn chmod(&self, name: &str, mode: u32) {
        fs::set_permissions(self.path().join(name), fs::Permissions::from_mode(mode)).unwrap();
    }

    fn srplay(&self, args: &[&str]) -> Ran {
        let out = Command::new(env!("CARGO_BIN_EXE_srplay"))
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .output()
            .expect("srplay runs");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `bundle create` of the site into `name`, which must succeed.
    fn create(&self, name: &str) -> PathBuf {
        let ran = self.srplay(&[
            "bundle",
            "create",
            "--root",
            "src",
            "--repo",
            "pkgs",
            "--binary",
            "fake-srplay",
            "-o",
            name,
        ]);
        assert_eq!(ran.code, 0, "create failed: {}", ran.stderr);
        self.path().join(name)
    }
}

/// One entry of a tar archive, as the tests rewrite them.
#[derive(Clone)]
struct Entry {
    path: Vec<u8>,
    kind: tar::EntryType,
    mode: u32,
    link: Vec<u8>,
    data: Vec<u8>,
}

fn read_entries(bundle: &Path) -> Vec<Entry> {
    let mut archive = tar::Archive::new(GzDecoder::new(fs::File::open(bundle).unwrap()));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            Entry {
                path: e.path_bytes().into_owned(),
                kind: e.header().entry_type(),
                mode: e.header().mode().unwrap(),
                link: e
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default(),
                data,
            }
        })
        .collect()
}

/// Write `entries` as a .tar.gz, names copied byte for byte (the tar crate's own path
/// setter refuses `..` and absolute paths, which is what these tests need to write).
fn write_entries(bundle: &Path, entries: &[Entry]) {
    let gz = GzEncoder::new(
        fs::File::create(bundle).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..e.path.len()].copy_from_slice(&e.path);
        h.as_old_mut().linkname[..e.link.len()].copy_from_slice(&e.link);
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_size(e.data.len() as u64);
        h.set_cksum();
        tar.append(&h, e.data.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

/// The site's good bundle rewritten by `edit` as `bad.tar.gz`.
fn tampered(site: &Site, edit: impl FnOnce(&mut Vec<Entry>)) -> PathBuf {
    let good = site.create("good.tar.gz");
    let mut entries = read_entries(&good);
    edit(&mut entries);
    let bad = site.path().join("bad.tar.gz");
    write_entries(&bad, &entries);
    bad
}

fn named<'a>(entries: &'a mut [Entry], below_top: &str) -> &'a mut Entry {
    let path = format!("{TOP}/{below_top}");
    entries
        .iter_mut()
        .find(|e| e.path == path.as_bytes())
        .unwrap_or_else(|| panic!("no entry {path}"))
}

/// `verify` and `extract` both refuse `bundle`, name `expected`, and extract leaves
/// nothing behind.
fn assert_refused(site: &Site, bundle: &Path, expected: &str) {
    let bundle = bundle.to_str().unwrap();
    let ran = site.srplay(&["bundle", "verify", bundle]);
    assert_ne!(ran.code, 0, "verify accepted it: {}", ran.stdout);
    assert!(
        ran.stderr.contains(expected),
        "no {expected:?} in:\n{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("help:"), "no hint in:\n{}", ran.stderr);

    let ran = site.srplay(&["bundle", "extract", bundle, "-C", "out"]);
    assert_ne!(ran.code, 0, "extract accepted it: {}", ran.stdout);
    assert!(
        ran.stderr.contains(expected),
        "no {expected:?} in:\n{}",
        ran.stderr
    );
    let left: Vec<_> = fs::read_dir(site.path().join("out")).unwrap().collect();
    assert!(left.is_empty(), "extract left {left:?}");
    assert!(!site.path().join("evil").exists());
}

#[test]
fn create_verify_extract_round_trip() {
    let site = Site::new()
        .file("src/roles/etcd/tasks/main.yml~", "editor backup\n")
        .file("src/roles/etcd/tasks/.main.yml.swp", "swap\n")
        .file("src/.srplay/runs/1.json", "{}\n")
        .file("src/roles/etcd/.srplay/x", "state\n");
    symlink(
        "main.yml",
        site.path().join("src/roles/etcd/tasks/alias.yml"),
    )
    .unwrap();
    let ran = site.srplay(&[
        "bundle",
        "create",
        "--root",
        "src",
        "--repo",
        "pkgs",
        "--binary",
        "fake-srplay",
        "-o",
        "site.tar.gz",
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // srplay, ansible.cfg, 2 playbooks, 4 role files (alias included), inventory, 2 in repo.
    assert!(ran.stdout.starts_with("packed 11 files"), "{}", ran.stdout);
    let sum = fs_sha256(&site.path().join("site.tar.gz"));
    assert!(
        ran.stdout.contains(&format!("sha256: {sum}")),
        "{}",
        ran.stdout
    );

    let ran = site.srplay(&["bundle", "verify", "site.tar.gz"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("OK, 12 files match the manifest, the whole file matches"),
        "{}",
        ran.stdout
    );
    let sum_file = Command::new("sha256sum")
        .args(["-c", "site.tar.gz.sha256"])
        .current_dir(site.path())
        .output()
        .unwrap();
    assert!(
        sum_file.status.success(),
        "sha256sum -c site.tar.gz.sha256 failed"
    );

    let ran = site.srplay(&["bundle", "extract", "site.tar.gz", "-C", "out"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let tree = site.path().join("out").join(TOP);
    assert!(
        ran.stdout.contains(tree.to_str().unwrap()),
        "{}",
        ran.stdout
    );

    let src = site.path().join("src");
    for (in_bundle, source) in [
        ("ansible.cfg", src.join("ansible.cfg")),
        ("setup.yml", src.join("playbooks/setup.yml")),
        ("10.etcd.yml", src.join("playbooks/10.etcd.yml")),
        (
            "roles/etcd/tasks/main.yml",
            src.join("roles/etcd/tasks/main.yml"),
        ),
        (
            "roles/etcd/tasks/alias.yml",
            src.join("roles/etcd/tasks/main.yml"),
        ),
        (
            "roles/etcd/files/check.sh",
            src.join("roles/etcd/files/check.sh"),
        ),
        ("inventory/hosts", src.join("inventory/hosts")),
        ("repo/Packages.gz", site.path().join("pkgs/Packages.gz")),
        (
            "repo/etcd-server_3.5_amd64.deb",
            site.path().join("pkgs/etcd-server_3.5_amd64.deb"),
        ),
        ("srplay", site.path().join("fake-srplay")),
    ] {
        assert_eq!(
            fs::read(tree.join(in_bundle)).unwrap(),
            fs::read(source).unwrap(),
            "{in_bundle}"
        );
    }
    let mode = |p: &str| fs::metadata(tree.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("srplay"), 0o755);
    assert_eq!(mode("roles/etcd/files/check.sh"), 0o750);
    assert_eq!(mode("roles/etcd/tasks/main.yml"), 0o644);
    assert!(
        !fs::symlink_metadata(tree.join("roles/etcd/tasks/alias.yml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    for skipped in [
        "playbooks",
        "notes.txt",
        ".srplay",
        "roles/etcd/.srplay",
        "roles/etcd/tasks/main.yml~",
        "roles/etcd/tasks/.main.yml.swp",
    ] {
        assert!(!tree.join(skipped).exists(), "{skipped} was packed");
    }

    let info: serde_json::Value =
        serde_json::from_slice(&fs::read(tree.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(info["srplay_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["created"], "2023-11-14T22:13:20Z");
    assert_eq!(info["files"], 11);

    // The manifest is sha256sum's own format.
    let check = Command::new("sha256sum")
        .args(["-c", "--strict", "MANIFEST.sha256"])
        .current_dir(&tree)
        .output()
        .expect("sha256sum runs");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(said.lines().count(), 12, "{said}");
}

fn fs_sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

#[test]
fn same_tree_same_bytes_with_source_date_epoch() {
    let site = Site::new();
    let first = fs::read(site.create("a.tar.gz")).unwrap();
    // A newer file time changes nothing: SOURCE_DATE_EPOCH stands for every time.
    let f = fs::File::options()
        .write(true)
        .open(site.path().join("src/inventory/hosts"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    let second = fs::read(site.create("b.tar.gz")).unwrap();
    assert!(first == second, "two bundles of the same tree differ");

    let entries = read_entries(&site.path().join("a.tar.gz"));
    let paths: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.path).into_owned())
        .collect();
    let (manifest, rest) = paths.split_last().unwrap();
    assert_eq!(
        manifest,
        &format!("{TOP}/MANIFEST.sha256"),
        "the manifest comes last"
    );
    let mut sorted = rest.to_vec();
    sorted.sort();
    assert_eq!(rest, sorted.as_slice(), "entries are in path order");
}

#[test]
fn a_changed_byte_in_a_file_is_refused() {
    let site = Site::new();
    let bad = tampered(&site, |entries| {
        named(entries, "roles/etcd/defaults/main.yml").data[11] = b'8';
    });
    assert_refused(
        &site,
        &bad,
        "roles/etcd/defaults/main.yml does not match its sum in the manifest",
    );
}

#[test]
fn a_changed_byte_in_the_compressed_stream_is_refused() {
    let site = Site::new();
    let good = site.create("good.tar.gz");
    let mut bytes = fs::read(&good).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let bad = site.path().join("bad.tar.gz");
    fs::write(&bad, bytes).unwrap();
    assert_refused(&site, &bad, "bad.tar.gz");

    // The sum of the whole file, beside it, covers the few bytes deflate ignores.
    fs::write(&bad, fs::read(&good).unwrap()).unwrap();
    let other = "0".repeat(64);
    fs::write(
        site.path().join("bad.tar.gz.sha256"),
        format!("{other}  bad.tar.gz\n"),
    )
    .unwrap();
    assert_refused(&site, &bad, &format!("not the {other} of"));
}

#[test]
fn a_file_not_in_the_manifest_is_refused() {
    let site = Site::new();
    let bad = tampered(&site, |entries| {
        let mut extra = named(entries, "inventory/hosts").clone();
        extra.path = format!("{TOP}/inventory/extra").into_bytes();
        entries.insert(1, extra);
    });
    assert_refused(&site, &bad, "inventory/extra is not in the manifest");
}

#[test]
fn a_missing_file_is_refused() {
    let site = Site::new();
    let bad = tampered(&site, |entries| {
        entries.retain(|e| !e.path.ends_with(b"/10.etcd.yml"));
    });
    assert_refused(
        &site,
        &bad,
        "10.etcd.yml is listed in the manifest but not in the bundle",
    );
}

#[test]
fn a_duplicate_entry_is_refused() {
    let site = Site::new();
    let bad = tampered(&site, |entries| {
        let mut again = named(entries, "setup.yml").clone();
        again.data = b"- hosts: all\n  tasks: [{command: rm -rf /}]\n".to_vec();
        entries.push(again);
    });
    assert_refused(&site, &bad, "setup.yml appears twice");
}

#[test]
fn path_traversal_entries_are_refused() {
    let site = Site::new();
    let evil = |path: String| Entry {
        path: path.into_bytes(),
        kind: tar::EntryType::Regular,
        mode: 0o644,
        link: Vec::new(),
        data: b"owned\n".to_vec(),
    };
    for (entry, expected) in [
        (
            evil(format!("{TOP}/../evil")),
            "a `.` or `..` path component",
        ),
        (evil("/tmp/evil".into()), "an absolute path"),
        (evil("elsewhere/evil".into()), "outside the top directory"),
    ] {
        let bad = tampered(&site, |entries| entries.insert(1, entry));
        assert_refused(&site, &bad, expected);
    }
}

#[test]
fn an_entry_hidden_after_the_end_of_the_tar_is_refused() {
    let site = Site::new();
    let good = site.create("good.tar.gz");
    let mut tar = Vec::new();
    GzDecoder::new(fs::File::open(&good).unwrap())
        .read_to_end(&mut tar)
        .unwrap();
    // Past the end-of-archive blocks, where `tar x` and every reader stop.
    let mut hidden = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_cksum();
    hidden
        .append_data(&mut h, format!("{TOP}/hidden"), &b"owned\n"[..])
        .unwrap();
    tar.extend(hidden.into_inner().unwrap());
    let bad = site.path().join("bad.tar.gz");
    let mut gz = GzEncoder::new(
        fs::File::create(&bad).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap();
    assert_refused(&site, &bad, "data follows the end of the tar archive");
}

#[test]
fn links_are_refused() {
    let site = Site::new();
    for kind in [tar::EntryType::Symlink, tar::EntryType::Link] {
        let bad = tampered(&site, |entries| {
            entries.insert(
                1,
                Entry {
                    path: format!("{TOP}/evil").into_bytes(),
                    kind,
                    mode: 0o777,
                    link: b"/etc/passwd".to_vec(),
                    data: Vec::new(),
                },
            );
        });
        assert_refused(&site, &bad, "evil is a link to \"/etc/passwd\"");
    }
}

#[test]
fn extract_refuses_to_overwrite_unless_forced() {
    let site = Site::new();
    site.create("site.tar.gz");
    let target = site.path().join("out").join(TOP);
    // An empty target is taken as it is.
    fs::create_dir_all(&target).unwrap();
    let ran = site.srplay(&["bundle", "extract", "site.tar.gz", "-C", "out"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    fs::write(target.join("local-notes"), "mine\n").unwrap();
    let ran = site.srplay(&["bundle", "extract", "site.tar.gz", "-C", "out"]);
    assert_ne!(ran.code, 0);
    assert!(
        ran.stderr.contains("already exists and is not empty"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("--force"), "{}", ran.stderr);
    assert!(
        target.join("local-notes").exists(),
        "the old tree was touched"
    );
    let entries: Vec<_> = fs::read_dir(site.path().join("out")).unwrap().collect();
    assert_eq!(
        entries.len(),
        1,
        "a temporary directory was left: {entries:?}"
    );

    let ran = site.srplay(&["bundle", "extract", "site.tar.gz", "-C", "out", "--force"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("replaced"), "{}", ran.stdout);
    assert!(!target.join("local-notes").exists());
    assert!(target.join("srplay").exists());
    assert_eq!(fs::read_dir(site.path().join("out")).unwrap().count(), 1);
}

#[test]
fn create_refuses_an_incomplete_or_leaking_tree() {
    let create = |site: &Site, root: &str| {
        site.srplay(&[
            "bundle",
            "create",
            "--root",
            root,
            "--repo",
            "pkgs",
            "--binary",
            "fake-srplay",
            "-o",
            "out.tar.gz",
        ])
    };
    let site = Site::new();
    for (broken, expected) in [
        ("missing", "missing cannot be read"),
        ("src/roles/etcd", "playbooks is not a directory"),
    ] {
        let ran = create(&site, broken);
        assert_ne!(ran.code, 0);
        assert!(ran.stderr.contains(expected), "{broken}: {}", ran.stderr);
    }

    let site = Site::new();
    fs::rename(site.path().join("src/roles"), site.path().join("elsewhere")).unwrap();
    let ran = create(&site, "src");
    assert!(
        ran.stderr.contains("roles is not a directory"),
        "{}",
        ran.stderr
    );

    let site = Site::new();
    symlink(
        "/etc/hostname",
        site.path().join("src/roles/etcd/files/hostname"),
    )
    .unwrap();
    let ran = create(&site, "src");
    assert_ne!(ran.code, 0);
    assert!(
        ran.stderr.contains("is a link to /etc/hostname, outside"),
        "{}",
        ran.stderr
    );

    let site = Site::new();
    symlink("..", site.path().join("src/roles/etcd/files/up")).unwrap();
    let ran = create(&site, "src");
    assert!(
        ran.stderr.contains("a directory it is inside of"),
        "{}",
        ran.stderr
    );

    let site = Site::new();
    fs::remove_file(site.path().join("pkgs/Packages.gz")).unwrap();
    let ran = create(&site, "src");
    assert!(
        ran.stderr.contains("no Packages.gz or Packages index"),
        "{}",
        ran.stderr
    );
    assert!(!site.path().join("out.tar.gz").exists());
    let leftovers: Vec<_> = fs::read_dir(site.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".srplay-bundle-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
