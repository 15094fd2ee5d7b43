//! The reference installer's cluster on booted hosts (`support::nspawn`), for the tests that
//! install it and change it (`installer`, and the node lifecycle and upgrade tests): the
//! cluster's inventory as `srplay node` keeps it, the test hosts' overrides, running srplay
//! from the repository root as a site engineer would, and reading what it printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::nspawn::{cache_dir, hack, manifest_dir};

/// One node: its id, the last byte of its address (127.0.1.N) and its role.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub id: &'static str,
    pub n: u32,
    pub role: &'static str,
}

impl Node {
    pub const fn new(id: &'static str, n: u32, role: &'static str) -> Node {
        Node { id, n, role }
    }

    pub fn addr(&self) -> String {
        format!("127.0.1.{}", self.n)
    }
}

/// etcdctl on a node, with the node's own client certificate.
pub const ETCDCTL: &str = "ETCDCTL_API=3 etcdctl --cacert=/etc/srplay/pki/ca.crt \
    --cert=/etc/srplay/pki/node.crt --key=/etc/srplay/pki/node.key";

/// The offline package source the installer copies to the nodes, built once by
/// `hack/offline/build-repo` into `~/.cache/srplay/nspawn-installer-repo` (about 50 MiB, needs
/// network the first time), without what the hosts' base image already has
/// (`--skip-installed-in`, so the base image is built first): half the files to copy, for
/// both tools. Built in a temp dir renamed into place, so tests running at once never see
/// half of it.
pub fn installer_repo(scratch: &Path) -> PathBuf {
    let repo = cache_dir().join("nspawn-installer-repo");
    if !repo.join("Packages.gz").exists() {
        hack("rig/nspawn", &["base"], scratch, Duration::from_secs(900));
        std::fs::create_dir_all(cache_dir()).unwrap();
        let tmp = tempfile::tempdir_in(cache_dir()).unwrap();
        let dir = tmp.path().join("repo");
        let base = std::env::var("SRPLAY_NSPAWN_BASE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| cache_dir().join("nspawn-base"));
        let args = [
            dir.to_string_lossy().into_owned(),
            "--skip-installed-in".to_string(),
            base.to_string_lossy().into_owned(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        timed("package source build", || {
            hack(
                "offline/build-repo",
                &args,
                scratch,
                Duration::from_secs(900),
            )
        });
        // Another test may have won the race; its copy is as good.
        let _ = std::fs::rename(&dir, &repo);
    }
    repo
}

/// Write the cluster's inventory directory under `dir` and return the path of its `hosts`:
/// the node table in `srplay node`'s format (`nodes` installed, the `new-*` groups empty)
/// with the rig's key, and `group_vars/all.yml` with what the test hosts need, so that
/// `srplay PLAYBOOK`, `srplay node ...` and ansible-playbook all see the same settings.
pub fn write_inventory(dir: &Path, state: &Path, nodes: &[Node], repo: &Path) -> PathBuf {
    let line = |n: &Node| {
        format!(
            "{id} ansible_host={addr} ip={addr} port=22 role={role}\n",
            id = n.id,
            addr = n.addr(),
            role = n.role
        )
    };
    let group = |name: &str, role: &str| {
        let lines: String = nodes.iter().filter(|n| n.role == role).map(line).collect();
        format!("[{name}]\n{lines}\n")
    };
    let hosts = format!(
        "[all:vars]\nansible_user=root\nansible_ssh_private_key_file={key}\n\
         ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n\n\
         {manage}[new-manage]\n\n{gateway}[new-gateway]\n\n{compute}[new-compute]\n\n{etcd}",
        key = state.join("id").display(),
        known = state.join("known_hosts").display(),
        manage = group("manage", "manage"),
        gateway = group("gateway", "gateway"),
        compute = group("compute", "compute"),
        etcd = group("etcd", "manage"),
    );
    // The hosts share this machine's kernel (/proc/sys is read-only in them) and its
    // loopback network, where a node's connections to another come from 127.0.0.1.
    let overrides = format!(
        "offline_repo_dir: {repo}\nsysctl_apply: false\npki_extra_sans: [\"IP:127.0.0.1\"]\n",
        repo = repo.display()
    );
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    std::fs::write(dir.join("group_vars/all.yml"), overrides).unwrap();
    let path = dir.join("hosts");
    std::fs::write(&path, hosts).unwrap();
    path
}

/// Run srplay with `args` from the repository root, as a site engineer would; its rc and
/// its stdout followed by its stderr.
pub fn srplay(args: &[&str], scratch: &Path) -> (i32, String) {
    run_in(env!("CARGO_BIN_EXE_srplay"), args, &manifest_dir(), scratch)
}

/// Run `program` with `args` in `cwd` (a playbook run: up to 20 minutes); its rc and its
/// stdout followed by its stderr.
pub fn run_in(program: &str, args: &[&str], cwd: &Path, scratch: &Path) -> (i32, String) {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd).args(args);
    let (rc, out, err) = super::run_with_timeout(cmd, scratch, Duration::from_secs(1200));
    (rc, format!("{out}{err}"))
}

/// `srplay PLAYBOOK -i INVENTORY`.
pub fn play(playbook: &str, inventory: &Path, scratch: &Path) -> (i32, String) {
    srplay(&[playbook, "-i", &inventory.to_string_lossy()], scratch)
}

/// The PLAY RECAP lines, whitespace squeezed.
pub fn recap(out: &str) -> Vec<String> {
    out.lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .skip(1)
        .filter(|l| l.contains(" : ok="))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Run `f`, printing how long `phase` took (`--nocapture` shows it).
pub fn timed<T>(phase: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    eprintln!(
        "cluster: {phase} took {:.1}s",
        start.elapsed().as_secs_f64()
    );
    value
}

/// While it lives, this machine reaches nothing but loopback: an nftables table rejects every
/// packet leaving for another address. The test hosts share the machine's network, so this
/// is the air-gapped site: neither the controller nor a target can reach a mirror.
pub struct NetworkBlock;

const BLOCK_TABLE: &str = "srplay_test_offline";
const BLOCK_RULES: &str = r#"table inet srplay_test_offline {
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    ip daddr 127.0.0.0/8 accept
    ip6 daddr ::1 accept
    reject
  }
}
"#;

impl NetworkBlock {
    pub fn new() -> NetworkBlock {
        let mut nft = Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft (apt-get install nftables)");
        use std::io::Write;
        nft.stdin
            .take()
            .unwrap()
            .write_all(BLOCK_RULES.as_bytes())
            .unwrap();
        assert!(nft.wait().unwrap().success(), "nft refused the block");
        NetworkBlock
    }
}

impl Drop for NetworkBlock {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", BLOCK_TABLE])
            .status();
    }
}
