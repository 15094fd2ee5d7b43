//! The local connection: acts on this machine with std and `/bin/sh`.

/// Runs modules' steps on the controller itself (`ansible_connection=local`).
#[derive(Default)]
pub struct LocalConnection;
