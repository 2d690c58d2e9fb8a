//! A real `git daemon` serving a folder of bare repositories on 127.0.0.1,
//! with push enabled; stopped (and restartable) by the test, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct GitDaemon {
    base: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl GitDaemon {
    pub fn start(base: &Path) -> Self {
        let mut daemon = GitDaemon {
            base: base.to_owned(),
            port: free_port(),
            child: None,
        };
        daemon.resume();
        daemon
    }

    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }

    /// Starts the daemon again on the same port.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        // `git daemon` would run git-daemon as a child that outlives a kill
        // of `git`; start the program itself so stopping it stops serving.
        let exec_path = Command::new("git").arg("--exec-path").output().unwrap();
        let exec_path = String::from_utf8(exec_path.stdout).unwrap();
        let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg("--enable=receive-pack")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={}", self.port))
            .arg(format!("--base-path={}", self.base.display()))
            .arg(&self.base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "git daemon did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the daemon: the remote becomes unreachable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "git daemon still listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A bare repository `remote.git` (default branch `main`) served by its own
/// `git daemon`, and clones of it: the remote most sync tests write through.
pub struct ServedRemote {
    root: tempfile::TempDir,
    pub daemon: GitDaemon,
}

impl ServedRemote {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let bare = root.path().join("remote.git");
        super::git(
            root.path(),
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        );
        let daemon = GitDaemon::start(root.path());
        ServedRemote { root, daemon }
    }

    /// The folder beside the bare repository, for files a test needs.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn bare(&self) -> PathBuf {
        self.root.path().join("remote.git")
    }

    /// A repository with its own `main` and `origin` pointing at the daemon.
    pub fn new_clone(&self) -> tempfile::TempDir {
        let repo = super::new_repo();
        super::git(
            repo.path(),
            &["remote", "add", "origin", &self.daemon.url("remote.git")],
        );
        repo
    }
}
