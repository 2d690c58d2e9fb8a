//! Three-way merges for files that git cannot merge line by line: pure
//! functions of three texts, no repository, no work tree.
//!
//! [`state`] merges release state files by meaning; [`driver`] is the git
//! merge-driver entry point that dispatches on the path. [`baseline`]
//! handles detect-secrets' `.secrets.baseline`: a derived file, so it is
//! merged loosely at merge time and regenerated from the final tree once the
//! merge or rebase is done (`crate::worktree`).

pub mod baseline;
pub mod driver;
pub mod state;
