//! statebox: the state of software releases, kept as one YAML file per
//! release on a git branch, safe for many concurrent writers.

pub mod merge;
pub mod yaml;
