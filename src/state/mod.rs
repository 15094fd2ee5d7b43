//! What srplay remembers between runs. For now: the node table of a cluster kept in its
//! INI inventory ([`nodes`]), and the locked, atomic, backed-up edits of it ([`store`]).

pub mod nodes;
pub mod store;
