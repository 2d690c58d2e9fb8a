//! Three-way merges git delegates to statebox: state files by meaning.
pub mod driver;
pub mod state;
