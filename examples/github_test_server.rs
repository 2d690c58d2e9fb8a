//! The tests' GitHub API server as a program, for bench/remote.py: serves a
//! bare repository as OWNER/REPO on 127.0.0.1, prints its URL, and when
//! stdin closes prints `requests GETs PUTs` served and exits.
//!
//! usage: github_test_server BARE_REPO OWNER/REPO TOKEN

#[path = "../tests/it/support/github_server.rs"]
#[allow(dead_code)] // the rate-limit controls are for the tests
mod github_server;

use std::io::Read;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo, owner_repo, token] = args.as_slice() else {
        eprintln!("usage: github_test_server BARE_REPO OWNER/REPO TOKEN");
        std::process::exit(2);
    };
    let server = github_server::GitHubServer::start(repo.as_ref(), owner_repo, token);
    println!("{}", server.url());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let (requests, gets, puts) = server.counts();
    println!("{requests} {gets} {puts}");
}
