//! Reading command output: status lines that drive task state, the output
//! that becomes each task's result, and the masking applied before storing.
//!
//! This half is pure (bytes in, transitions out); applying the transitions to
//! a release's state is the store's job. See [`scan`] for which output
//! belongs to which task and for the memory bound.

mod clean;
pub mod mask;
pub mod record;
pub mod scan;
pub mod status_line;

pub use clean::clean;
pub use record::{RecordError, Recorder};
pub use scan::{Event, ScanOptions, Scanner, Transition};
