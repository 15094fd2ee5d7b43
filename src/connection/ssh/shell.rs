//! A long-lived `sh` on one channel of the session, that runs step after step.
//!
//! A step costs one fork (and the exec of what it runs) on the host, instead of the new
//! channel, session process and login shell a channel per command costs (see the
//! performance notes in `docs/architecture.md`). Each step is framed so that nothing
//! leaks between steps:
//!
//! ```sh
//! srplay_step() {
//! <script>
//! }
//! ( srplay_step ) </dev/null          # or: base64 -d <<'SRPLAY_DATA_END' | ( srplay_step )
//! printf '\n%s %d\n' <marker> "$?"; printf '\n%s\n' <marker> >&2
//! ```
//!
//! The subshell keeps `cd`, `exit`, variables and traps of a step away from the
//! shell; its stdin is `/dev/null` or the step's own data, never the command stream;
//! the marker (random per shell) ends stdout (with the exit status) and stderr.
//!
//! A query of srplay's own ([`Framing::InPlace`]: a script that only looks, never
//! exits or changes the shell's state, and sets no variable a later step could read)
//! runs as `srplay_step </dev/null` in the shell itself: the subshell's fork is a
//! quarter of a millisecond of the host's CPU, more than the rest of such a step.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use ssh2::Channel;

use super::session::Live;
use crate::connection::shell_ops::{heredoc_base64, quote};
use crate::connection::{Become, ConnError, ConnResult, ExecOutput};

pub struct Shell {
    channel: Channel,
    marker: String,
}

/// How a step's script runs in the shell (see the module's comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Subshell,
    InPlace,
}

/// What a step's framing says about how it ended.
enum Ended {
    Done(ExecOutput),
    /// The channel closed before the step's end markers: the shell died.
    Closed(ExecOutput),
}

impl Shell {
    /// Open a channel and start `sh` on it, as the login user or (with `become_`)
    /// through `sudo`/`su`, answering the password prompt on the channel itself.
    pub fn open(live: &Live, become_: Option<&Become>, timeout: Duration) -> ConnResult<Shell> {
        let marker = format!(
            "SRPLAY_{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let deadline = Some(Instant::now() + timeout);
        let mut channel = live.retry(deadline, || live.session.channel_session())?;
        let ready = format!("{marker}_READY");
        let prompt = format!("[sudo via srplay, key={marker}] password:");
        let command = match become_ {
            None => "exec /bin/sh".to_string(),
            Some(b) => become_command(b, &prompt, &ready)?,
        };
        live.retry(deadline, || channel.exec(&command))?;
        let mut shell = Shell { channel, marker };
        if let Some(b) = become_ {
            shell.await_become(live, b, &prompt, &ready, deadline)?;
        }
        Ok(shell)
    }

    /// Read until the shell says it is ready; answer the sudo prompt once.
    fn await_become(
        &mut self,
        live: &Live,
        b: &Become,
        prompt: &str,
        ready: &str,
        deadline: Option<Instant>,
    ) -> ConnResult<()> {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut answered = false;
        loop {
            let mut nothing: &[u8] = &[];
            let progressed = self.pump(live, &mut nothing, &mut out, &mut err)?;
            let err_text = String::from_utf8_lossy(&err);
            if contains(&out, ready.as_bytes()) {
                return Ok(());
            }
            if err_text.contains(prompt) {
                let Some(password) = b.password.as_deref() else {
                    return Err(ConnError::new(format!(
                        "Missing {} password: {} asked for a password to become {} (set ansible_become_password or use --ask-become-pass)",
                        b.method, b.method, b.user
                    )));
                };
                if answered {
                    return Err(ConnError::new(format!(
                        "Incorrect {} password while becoming {}",
                        b.method, b.user
                    )));
                }
                answered = true;
                err.clear();
                let line = format!("{password}\n");
                let mut pending = line.as_bytes();
                while !pending.is_empty() {
                    self.pump(live, &mut pending, &mut out, &mut Vec::new())?;
                    if !pending.is_empty() {
                        live.wait(deadline)?;
                    }
                }
                continue;
            }
            if self.channel.eof() {
                let why = err_text.trim();
                let why = if why.contains("incorrect password") || why.contains("Sorry, try again")
                {
                    format!("Incorrect {} password while becoming {}", b.method, b.user)
                } else if why.contains("a password is required") {
                    format!(
                        "Missing {} password: a password is required to become {}",
                        b.method, b.user
                    )
                } else {
                    format!("{} to {} failed: {why}", b.method, b.user)
                };
                return Err(ConnError::new(why));
            }
            if !progressed && live.wait(deadline).is_err() {
                return Err(ConnError::new(format!(
                    "Timeout waiting for privilege escalation ({} to {})",
                    b.method, b.user
                )));
            }
        }
    }

    /// Run one step; `Err` only for a transport failure. A shell that died mid-step
    /// is an error too (the caller drops the shell and opens another next time).
    pub fn run(
        &mut self,
        live: &Live,
        script: &str,
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
        framing: Framing,
    ) -> ConnResult<ExecOutput> {
        let m = &self.marker;
        let invoke = match stdin {
            None if framing == Framing::InPlace => "srplay_step </dev/null\n".to_string(),
            None => "( srplay_step ) </dev/null\n".to_string(),
            Some(data) => format!(
                "base64 -d <<'SRPLAY_DATA_END' | ( srplay_step )\n{}",
                heredoc_base64(data)
            ),
        };
        let text = format!(
            "srplay_step() {{\n{script}\n}}\n{invoke}printf '\\n%s %d\\n' {m} \"$?\"; printf '\\n%s\\n' {m} >&2\n"
        );
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut pending = text.as_bytes();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        loop {
            let progressed = self.pump(live, &mut pending, &mut out, &mut err)?;
            if let Some(ended) = self.ended(&out, &err) {
                return match ended {
                    Ended::Done(output) => Ok(output),
                    Ended::Closed(output) => Err(ConnError::new(format!(
                        "the remote shell ended in the middle of a step{}",
                        stderr_tail(&output.stderr)
                    ))),
                };
            }
            if crate::interrupt::requested() {
                return Err(ConnError::new(
                    "interrupted (Ctrl-C) while the step was running",
                ));
            }
            if !progressed {
                live.wait(deadline).map_err(|e| {
                    if e.unreachable {
                        e
                    } else {
                        ConnError::new(format!(
                            "the command did not finish within {} seconds and was abandoned",
                            timeout.unwrap_or_default().as_secs_f64()
                        ))
                    }
                })?;
            }
        }
    }

    /// Move what can move without blocking: write from `pending`, read stdout and
    /// stderr. True when anything moved.
    fn pump(
        &mut self,
        live: &Live,
        pending: &mut &[u8],
        out: &mut Vec<u8>,
        err: &mut Vec<u8>,
    ) -> ConnResult<bool> {
        let mut progressed = false;
        if !pending.is_empty() {
            match self.channel.write(pending) {
                Ok(n) => {
                    *pending = &pending[n..];
                    progressed |= n > 0;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(lost(live, &e)),
            }
        }
        let mut buf = [0u8; 32 * 1024];
        loop {
            match self.channel.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(lost(live, &e)),
            }
        }
        loop {
            match self.channel.stderr().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    err.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(lost(live, &e)),
            }
        }
        Ok(progressed)
    }

    /// Both end markers seen (the step is done), or the channel closed before them.
    fn ended(&self, out: &[u8], err: &[u8]) -> Option<Ended> {
        let m = self.marker.as_bytes();
        let stdout_end = last_line(out).and_then(|(start, line)| {
            let rc = line.strip_prefix(m)?.strip_prefix(b" ")?;
            let rc = std::str::from_utf8(rc).ok()?.parse::<i32>().ok()?;
            Some((start, rc))
        });
        let stderr_end = last_line(err)
            .filter(|(_, line)| *line == m)
            .map(|(s, _)| s);
        match (stdout_end, stderr_end) {
            (Some((o, rc)), Some(e)) => Some(Ended::Done(ExecOutput {
                rc,
                // The `\n` printed before each marker is the framing's, not the step's.
                stdout: out[..o.saturating_sub(1)].to_vec(),
                stderr: err[..e.saturating_sub(1)].to_vec(),
            })),
            _ if self.channel.eof() => Some(Ended::Closed(ExecOutput {
                rc: -1,
                stdout: out.to_vec(),
                stderr: err.to_vec(),
            })),
            _ => None,
        }
    }

    /// Close the channel (the shell exits on end of input).
    pub fn close(mut self) {
        let _ = self.channel.send_eof();
        let _ = self.channel.close();
    }
}

/// The last complete line of `buf` (which must end with `\n`): its start and text.
fn last_line(buf: &[u8]) -> Option<(usize, &[u8])> {
    let body = buf.strip_suffix(b"\n")?;
    let start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    Some((start, &body[start..]))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", text.lines().last().unwrap_or_default())
    }
}

fn lost(_live: &Live, e: &std::io::Error) -> ConnError {
    ConnError::unreachable(format!("lost the SSH connection: {e}"))
}

/// The command that starts a shell as another user. The password is never on it: sudo
/// reads it from the channel after printing `prompt` (`-S`), su only from root.
fn become_command(b: &Become, prompt: &str, ready: &str) -> ConnResult<String> {
    let inner = quote(&format!("echo {ready}; exec /bin/sh"))?;
    let user = quote(&b.user)?;
    match b.method.as_str() {
        "sudo" | "" => {
            // Ansible's default flags are `-H -S -n`; `-n` goes when a password is set,
            // and `-S` (read the password from stdin) is needed in any case.
            let flags = b.flags.clone().unwrap_or_else(|| "-H -S -n".to_string());
            let mut words: Vec<String> = shlex::split(&flags)
                .ok_or_else(|| ConnError::new(format!("cannot parse become_flags: {flags}")))?;
            if b.password.is_some() {
                words.retain(|w| w != "-n");
            }
            if !words.iter().any(|w| w == "-S") {
                words.push("-S".into());
            }
            let flags = words
                .iter()
                .map(|w| quote(w))
                .collect::<ConnResult<Vec<_>>>()?
                .join(" ");
            Ok(format!(
                "exec sudo {flags} -p {} -u {user} /bin/sh -c {inner}",
                quote(prompt)?
            ))
        }
        "su" => {
            if b.password.is_some() {
                return Err(ConnError::new(
                    "become_method su with a password needs a terminal, which srplay's SSH transport does not allocate; use sudo, or log in as root",
                ));
            }
            let flags = b.flags.clone().unwrap_or_default();
            Ok(format!("exec su {flags} -s /bin/sh {user} -c {inner}"))
        }
        other => Err(ConnError::new(format!(
            "become method '{other}' is not supported over SSH (supported: sudo, su)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn become_commands_never_carry_the_password() {
        let b = Become {
            method: "sudo".into(),
            user: "app user".into(),
            flags: None,
            password: Some("s3cret".into()),
        };
        let cmd = become_command(&b, "P:", "READY").unwrap();
        assert!(!cmd.contains("s3cret"), "{cmd}");
        assert!(
            cmd.starts_with("exec sudo -H -S -p P: -u 'app user' /bin/sh -c"),
            "{cmd}"
        );
        let nopw = Become {
            password: None,
            ..b.clone()
        };
        assert!(become_command(&nopw, "P:", "R").unwrap().contains("-n"));
        let su = Become {
            method: "su".into(),
            ..b
        };
        assert!(become_command(&su, "P:", "R").is_err());
    }

    #[test]
    fn last_line_framing() {
        assert_eq!(last_line(b"a\nM 0\n"), Some((2, &b"M 0"[..])));
        assert_eq!(last_line(b"M\n"), Some((0, &b"M"[..])));
        assert_eq!(last_line(b"partial"), None);
    }
}
