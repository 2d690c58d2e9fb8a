//! statebox: the state of software releases, kept as one YAML file per
//! release on a git branch, safe for many concurrent writers.

#![deny(missing_docs)]

pub mod active;
pub mod audit;
pub mod backend;
pub mod branch;
pub mod catalog;
pub mod config_store;
pub mod idempotency;
pub mod ingest;
pub mod merge;
pub mod model;
pub mod release;
pub mod schema;
pub mod summary;
pub mod sync;
pub mod text;
pub mod timestamp;
pub mod worktree;
pub mod write;
pub mod yaml;
