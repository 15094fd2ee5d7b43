//! Ctrl-C: the signal handler only sets a flag; the engine stops starting tasks and a
//! connection waiting on a remote step gives up, so the run ends promptly with exit 99
//! and its sessions closed.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask the run to stop (async-signal-safe: one atomic store).
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
