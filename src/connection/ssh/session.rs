//! One authenticated SSH session to a host: TCP connect with a timeout, the
//! handshake, the host-key check against `known_hosts`, and authentication (key file,
//! agent, default identities, password). After that the session runs non-blocking,
//! and [`Live::wait`] parks the caller until the socket is ready.

use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use ssh2::{BlockDirections, ErrorCode, MethodType, Session};

use super::known_hosts::{self, KnownKey};
use super::target::SshTarget;
use crate::connection::{ConnError, ConnResult};

/// libssh2's "would block" in non-blocking mode.
const EAGAIN: i32 = -37;

/// How often an idle wait sends a keepalive (libssh2 sends only when one is due).
const KEEPALIVE_SECS: u32 = 15;

pub struct Live {
    pub session: Session,
    /// The session's socket, for `poll`.
    socket: TcpStream,
}

impl Live {
    /// Connect, check the host key, authenticate. Every failure is "unreachable", as
    /// Ansible reports a host whose SSH connection fails.
    pub fn open(target: &SshTarget) -> ConnResult<Live> {
        let fail = |what: String| {
            ConnError::unreachable(format!("Failed to connect to the host via ssh: {what}"))
        };
        let addrs: Vec<_> = (target.address.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| {
                fail(format!(
                    "ssh: Could not resolve hostname {}: {e}",
                    target.address
                ))
            })?
            .collect();
        let mut last_error = None;
        let mut tcp = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, target.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            // As ssh words it: "Connection refused", without Rust's "(os error 111)".
            let why = last_error.map_or_else(
                || "no address".to_string(),
                |e| {
                    let text = e.to_string();
                    text.split(" (os error").next().unwrap_or(&text).to_string()
                },
            );
            fail(format!(
                "ssh: connect to host {} port {}: {why}",
                target.address, target.port
            ))
        })?;
        let _ = tcp.set_nodelay(true);
        let socket = tcp
            .try_clone()
            .map_err(|e| fail(format!("cannot use the socket: {e}")))?;

        let mut session = Session::new().map_err(|e| fail(e.to_string()))?;
        session.set_tcp_stream(tcp);
        session.set_timeout(u32::try_from(target.connect_timeout.as_millis()).unwrap_or(u32::MAX));
        let known = if target.host_key_checking {
            known_hosts::keys_for(&target.known_hosts_files, &target.address, target.port)
        } else {
            Vec::new()
        };
        // Ask for a host key of a type we know for this host, as OpenSSH does; without
        // this the server may present another type and look unknown.
        let algorithms = known_hosts::algorithms_for(&known);
        if !algorithms.is_empty() {
            let _ = session.method_pref(MethodType::HostKey, &algorithms.join(","));
        }
        session.handshake().map_err(|e| {
            fail(format!(
                "{}: SSH handshake failed: {}",
                target.display(),
                e.message()
            ))
        })?;
        if target.host_key_checking {
            check_host_key(&session, target, &known)?;
        }
        authenticate(&session, target)?;
        session.set_keepalive(false, KEEPALIVE_SECS);
        session.set_timeout(0);
        session.set_blocking(false);
        Ok(Live { session, socket })
    }

    /// Wait until the socket is ready in the direction libssh2 is blocked on (or a
    /// short while), sending a keepalive when one is due. Past `deadline`, an error.
    pub fn wait(&self, deadline: Option<Instant>) -> ConnResult<()> {
        let _ = self.session.keepalive_send();
        let flags = match self.session.block_directions() {
            BlockDirections::Inbound => PollFlags::POLLIN,
            BlockDirections::Outbound => PollFlags::POLLOUT,
            BlockDirections::Both => PollFlags::POLLIN | PollFlags::POLLOUT,
            BlockDirections::None => PollFlags::POLLIN,
        };
        let mut slice = Duration::from_millis(500);
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnError::new("timed out"));
            }
            slice = slice.min(left);
        }
        let mut fds = [PollFd::new(self.socket.as_fd(), flags)];
        let timeout = PollTimeout::try_from(slice.as_millis() as i32).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(ConnError::unreachable(format!("lost the connection: {e}"))),
        }
    }

    /// Run a libssh2 call until it stops saying "would block".
    pub fn retry<T>(
        &self,
        deadline: Option<Instant>,
        call: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> ConnResult<T> {
        self.retry_with(deadline, call, |e| session_error(&e))
    }

    /// [`retry`](Live::retry), with the caller's reading of other errors.
    pub fn retry_with<T>(
        &self,
        deadline: Option<Instant>,
        mut call: impl FnMut() -> Result<T, ssh2::Error>,
        error: impl Fn(ssh2::Error) -> ConnError,
    ) -> ConnResult<T> {
        loop {
            match call() {
                Ok(v) => return Ok(v),
                Err(e) if e.code() == ErrorCode::Session(EAGAIN) => self.wait(deadline)?,
                Err(e) => return Err(error(e)),
            }
        }
    }
}

/// A libssh2 failure: the session is gone (unreachable) unless it is a channel refusal.
pub fn session_error(e: &ssh2::Error) -> ConnError {
    ConnError::unreachable(format!("the SSH session failed: {}", e.message()))
}

fn check_host_key(session: &Session, target: &SshTarget, known: &[KnownKey]) -> ConnResult<()> {
    let Some((blob, _)) = session.host_key() else {
        return Err(ConnError::unreachable("the server sent no host key"));
    };
    let blob = blob.to_vec();
    let presented = key_type_of(&blob);
    let fingerprint = known_hosts::fingerprint(&blob);
    let host = if target.port == 22 {
        target.address.clone()
    } else {
        format!("[{}]:{}", target.address, target.port)
    };
    if let Some(k) = known.iter().find(|k| k.revoked && k.blob == blob) {
        return Err(ConnError::unreachable(format!(
            "Host key verification failed for {host}: its {presented} key {fingerprint} is marked as revoked ({})",
            k.origin
        )));
    }
    let trusted: Vec<&KnownKey> = known.iter().filter(|k| !k.revoked).collect();
    if trusted.iter().any(|k| k.blob == blob) {
        return Ok(());
    }
    if let Some(k) = trusted.first() {
        return Err(ConnError::unreachable(format!(
            "Host key verification failed: REMOTE HOST IDENTIFICATION HAS CHANGED for {host}. \
             It presented the {presented} key {fingerprint}, which does not match the key \
             recorded in {} ({}). Someone could be eavesdropping, or the host was reinstalled: \
             check the new key, then replace the old line (ssh-keygen -R {host})",
            k.origin, k.key_type
        )));
    }
    Err(ConnError::unreachable(format!(
        "Host key verification failed: no key for {host} is known (looked in {}). \
         The host presented the {presented} key {fingerprint}. Add it after checking it \
         (ssh-keyscan {} >> ~/.ssh/known_hosts), or set host_key_checking = False",
        target.known_hosts_files.join(", "),
        if target.port == 22 {
            target.address.clone()
        } else {
            format!("-p {} {}", target.port, target.address)
        }
    )))
}

/// The algorithm name at the start of an SSH public key blob.
fn key_type_of(blob: &[u8]) -> String {
    let len = blob
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .unwrap_or(0);
    blob.get(4..4 + len)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// OpenSSH's order: the given key file, else the agent's keys and the default
/// identity files; then the password when one is set.
fn authenticate(session: &Session, target: &SshTarget) -> ConnResult<()> {
    let user = target.user.as_str();
    let offered = session
        .auth_methods(user)
        .map(str::to_string)
        .unwrap_or_default();
    if session.authenticated() {
        return Ok(());
    }
    let mut tried: Vec<String> = Vec::new();
    if let Some(key) = &target.private_key_file {
        if !Path::new(key).exists() {
            return Err(ConnError::unreachable(format!(
                "Failed to connect to the host via ssh: the private key file {key} (ansible_ssh_private_key_file) does not exist"
            )));
        }
        match session.userauth_pubkey_file(user, None, Path::new(key), None) {
            Ok(()) => return Ok(()),
            Err(e) => tried.push(format!("key {key} ({})", e.message())),
        }
    } else {
        if std::env::var_os("SSH_AUTH_SOCK").is_some()
            && let Ok(mut agent) = session.agent()
            && agent.connect().is_ok()
            && agent.list_identities().is_ok()
        {
            for identity in agent.identities().unwrap_or_default() {
                if agent.userauth(user, &identity).is_ok() {
                    return Ok(());
                }
                tried.push(format!("agent key {}", identity.comment()));
            }
        }
        if let Ok(home) = std::env::var("HOME") {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let key = Path::new(&home).join(".ssh").join(name);
                if key.exists() {
                    if session.userauth_pubkey_file(user, None, &key, None).is_ok() {
                        return Ok(());
                    }
                    tried.push(format!("key {}", key.display()));
                }
            }
        }
    }
    if let Some(password) = &target.password {
        match session.userauth_password(user, password) {
            Ok(()) => return Ok(()),
            Err(_) => tried.push("password".into()),
        }
    }
    let tried = if tried.is_empty() {
        "no key or password was available".to_string()
    } else {
        format!("tried {}", tried.join(", "))
    };
    Err(ConnError::unreachable(format!(
        "Failed to connect to the host via ssh: {}: Permission denied ({offered}); {tried}. \
         Check ansible_user, ansible_ssh_private_key_file (--private-key) or ansible_password (-k)",
        target.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_is_read_from_the_blob() {
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 1, 7]);
        assert_eq!(key_type_of(&blob), "ssh-ed25519");
        assert_eq!(key_type_of(&[1]), "unknown");
    }
}
