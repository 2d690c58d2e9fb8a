//! statebox's integration tests, one binary (linked once): each module is
//! a part of the specification, run against the real binary, real git
//! repositories and the real oracles.

mod audit;
mod bad_input;
mod baseline;
mod chaos;
mod checked_out;
mod cli;
mod concurrency;
mod config_cli;
mod config_store;
mod config_typed_values;
mod deploy;
mod derived_rebase;
mod derived_trust;
mod dir_symlinks;
mod fixtures;
mod full_disk;
mod github;
mod idempotency;
mod ingest_cli;
mod ingest_scan;
mod masking;
mod merge_driver;
mod merge_props;
mod original_spec;
mod reads;
mod remote;
mod service;
mod snapshots;
mod status_cli;
mod support;
mod surface;
mod sync_rejected;
mod take_back;
mod yaml_fuzz;
mod yaml_limits;
mod yaml_oracle;
mod yaml_roundtrip;
