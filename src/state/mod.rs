//! What srplay remembers between runs: the node table of a cluster kept in its INI
//! inventory ([`nodes`]), the locked, atomic, backed-up edits of it ([`store`]), and
//! the record of every run ([`runs`]). All of it lives in `.srplay/` beside the
//! inventory: directories 0700, files 0600.

pub mod nodes;
pub mod runs;
pub mod store;
