//! Inventories: hosts, groups and their variables, and host patterns.
