use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse_from(cli::store_options_after_command(std::env::args_os()));
    if !cli.command.tees_output() {
        die_quietly_on_closed_stdout();
    }
    cli::init_tracing(&cli);
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("statebox: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// `statebox status | head -1`: when the reader goes away, end as Unix tools
/// do (killed by SIGPIPE, the shell sees 141) instead of panicking in
/// `println!`. Rust ignores SIGPIPE by default; restore the default action.
/// `ingest` and `run` keep it ignored: they handle a closed stdout
/// themselves and must still record the final state.
fn die_quietly_on_closed_stdout() {
    // SAFETY: called once on the main thread before any other thread exists;
    // SIG_DFL is a valid disposition for SIGPIPE and no handler is replaced
    // that other code relies on.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
