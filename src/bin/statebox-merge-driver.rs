//! `statebox-merge-driver %O %A %B %P`: the merge driver as a program of its
//! own. Git starts it once per conflicted file, so start-up is most of its
//! cost; without the CLI's other commands it links no git, TLS or HTTP code
//! and starts several times faster than `statebox merge-driver`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    let [base, ours, theirs, path] = args.as_slice() else {
        eprintln!("usage: statebox-merge-driver BASE OURS THEIRS PATH   (git's %O %A %B %P)");
        return ExitCode::from(2);
    };
    let path = path.to_string_lossy();
    match statebox::merge::driver::run_driver(base, ours, theirs, &path) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("statebox-merge-driver: {path}: {e}");
            ExitCode::from(statebox::merge::driver::CONFLICT)
        }
    }
}
