//! Three-way merges for files that git cannot merge line by line.
//!
//! [`baseline`] handles detect-secrets' `.secrets.baseline`: a derived file, so
//! it is merged loosely at merge time and then regenerated from the final tree
//! ([`regen`]), relocating known findings by hash ([`relocate`]) when
//! detect-secrets itself is not installed.

pub mod baseline;
pub mod derived;
pub mod regen;
pub mod relocate;
