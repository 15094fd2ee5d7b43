//! Questions to the person at the terminal: passwords (`-K`, `-k`) and `vars_prompt`.
//! They go to `/dev/tty`, never to stdout, so they work with output redirected.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;

use nix::sys::termios::{self, LocalFlags, SetArg};

/// Ask on the terminal; with `echo: false` the answer is not shown (passwords).
/// `Err` when there is no terminal to ask on.
pub fn ask(prompt: &str, echo: bool) -> Result<String, String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| format!("cannot prompt without a terminal: {e}"))?;
    let mut writer = tty.try_clone().map_err(|e| e.to_string())?;
    let _ = write!(writer, "{prompt}");
    let _ = writer.flush();
    // Echo off for the answer, restored whatever happens while reading.
    let saved = if echo {
        None
    } else {
        let saved = termios::tcgetattr(tty.as_fd()).map_err(|e| e.to_string())?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        termios::tcsetattr(tty.as_fd(), SetArg::TCSANOW, &quiet).map_err(|e| e.to_string())?;
        Some(saved)
    };
    let mut line = String::new();
    let read = BufReader::new(tty.try_clone().map_err(|e| e.to_string())?).read_line(&mut line);
    if let Some(saved) = saved {
        let _ = termios::tcsetattr(tty.as_fd(), SetArg::TCSANOW, &saved);
        let _ = writeln!(writer);
    }
    read.map_err(|e| format!("could not read the answer: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Whether srplay runs interactively: its stdin is a terminal (a run fed from a pipe
/// or from CI is not, even when a controlling terminal exists).
pub fn interactive() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdin())
}
