//! Three-way merges for files that git cannot merge line by line.
//!
//! [`state`] merges release state files by meaning; [`driver`] is the git
//! merge-driver entry point that dispatches on the path. [`baseline`]
//! handles detect-secrets' `.secrets.baseline`: a derived file, so it is
//! merged loosely at merge time and regenerated from the final tree once the
//! merge or rebase is done ([`derived`], [`regen`]), relocating known
//! findings by hash ([`relocate`]) when detect-secrets is not installed.

pub mod baseline;
pub mod derived;
pub mod driver;
pub mod regen;
pub mod relocate;
pub mod state;
