//! A small GitHub REST API server for tests: the Contents API endpoints
//! statebox uses, with GitHub's documented semantics, on top of a real bare
//! git repository (every PUT is a real commit, every GET reads the real
//! tree). HTTP/1.1 with keep-alive on 127.0.0.1, one thread per connection.
//!
//! Endpoints, under `/repos/{owner}/{repo}/`:
//! - `GET contents/{path}?ref=B`: a file (base64 content, blob sha; no
//!   content above 1 MB, as GitHub) or a directory listing; 404 if absent.
//! - `PUT contents/{path}` `{message, content, sha?, branch}`: 409 when
//!   `sha` is not the file's current blob, 422 "sha wasn't supplied" when
//!   the file exists and no sha is given; 201 created / 200 updated.
//! - `GET git/blobs/{sha}`, `GET commits?sha=B&path=P&per_page&page`.
//!
//! Every request needs `Authorization: Bearer|token <token>` (401 "Bad
//! credentials" otherwise). Rate limits can be imposed on the next requests.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use git2::{FileMode, ObjectType, Oid, Repository, Signature};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// GitHub serves file content inline only up to this size.
const INLINE_LIMIT: usize = 1024 * 1024;

/// How the next requests are rate limited.
#[derive(Debug, Clone, Copy)]
pub enum RateLimit {
    /// 429 with `retry-after: seconds`.
    RetryAfter(u64),
    /// 403 with `x-ratelimit-remaining: 0` and a reset `seconds` from now.
    Exhausted(u64),
}

struct Shared {
    repo_path: PathBuf,
    owner_repo: String,
    token: String,
    requests: AtomicUsize,
    gets: AtomicUsize,
    puts: AtomicUsize,
    /// Serializes ref updates, as GitHub does per branch.
    write_lock: Mutex<()>,
    limited: Mutex<Option<(RateLimit, usize)>>,
    stop: AtomicBool,
}

pub struct GitHubServer {
    shared: Arc<Shared>,
    port: u16,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl GitHubServer {
    /// Serves the bare repository at `repo_path` as `owner_repo`.
    pub fn start(repo_path: &Path, owner_repo: &str, token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            repo_path: repo_path.to_owned(),
            owner_repo: owner_repo.to_owned(),
            token: token.to_owned(),
            requests: AtomicUsize::new(0),
            gets: AtomicUsize::new(0),
            puts: AtomicUsize::new(0),
            write_lock: Mutex::new(()),
            limited: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accept_shared);
                std::thread::spawn(move || serve_connection(&shared, stream));
            }
        });
        GitHubServer {
            shared,
            port,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (all requests, GETs, PUTs) served so far.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.shared.requests.load(Ordering::SeqCst),
            self.shared.gets.load(Ordering::SeqCst),
            self.shared.puts.load(Ordering::SeqCst),
        )
    }

    /// The next `count` requests are refused with `limit`.
    pub fn rate_limit(&self, limit: RateLimit, count: usize) {
        *self.shared.limited.lock().unwrap() = Some((limit, count));
    }
}

impl Drop for GitHubServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

fn respond(status: u16, body: Value) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body,
    }
}

fn not_found() -> Response {
    respond(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        body = vec![0; length.parse().ok()?];
        reader.read_exact(&mut body).ok()?;
    }
    let (path, query_text) = target.split_once('?').unwrap_or((&target, ""));
    let query = query_text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    Some(Request {
        method,
        path: percent_decode(path),
        query,
        headers,
        body,
    })
}

fn serve_connection(shared: &Shared, stream: TcpStream) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let response = handle(shared, &request);
        let body = serde_json::to_vec(&response.body).unwrap();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\n",
            response.status,
            reason(response.status),
            body.len()
        );
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        _ => "Other",
    }
}

fn handle(shared: &Shared, request: &Request) -> Response {
    let authorized = request.headers.get("authorization").is_some_and(|value| {
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("token "))
            == Some(shared.token.as_str())
    });
    if !authorized {
        return respond(
            401,
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
        );
    }
    if let Some(limited) = rate_limited(shared) {
        return limited;
    }
    let prefix = format!("/repos/{}/", shared.owner_repo);
    let Some(route) = request.path.strip_prefix(&prefix) else {
        return not_found();
    };
    let repo = Repository::open_bare(&shared.repo_path).unwrap();
    match (request.method.as_str(), route) {
        ("GET", route) if route.starts_with("contents/") => {
            shared.gets.fetch_add(1, Ordering::SeqCst);
            get_contents(&repo, &route["contents/".len()..], request)
        }
        ("PUT", route) if route.starts_with("contents/") => {
            shared.puts.fetch_add(1, Ordering::SeqCst);
            let _serialized = shared.write_lock.lock().unwrap();
            put_contents(&repo, &route["contents/".len()..], request)
        }
        ("GET", route) if route.starts_with("git/blobs/") => {
            get_blob(&repo, &route["git/blobs/".len()..])
        }
        ("GET", "commits") => list_commits(&repo, request),
        _ => not_found(),
    }
}

fn rate_limited(shared: &Shared) -> Option<Response> {
    let mut limited = shared.limited.lock().unwrap();
    let (limit, remaining) = limited.as_mut()?;
    let limit = *limit;
    *remaining -= 1;
    if *remaining == 0 {
        *limited = None;
    }
    let mut response = match limit {
        RateLimit::RetryAfter(seconds) => {
            let mut r = respond(
                429,
                json!({"message": "You have exceeded a secondary rate limit."}),
            );
            r.headers.push(("retry-after".into(), seconds.to_string()));
            r
        }
        RateLimit::Exhausted(seconds) => {
            let reset = chrono::Utc::now().timestamp() + seconds as i64;
            let mut r = respond(403, json!({"message": "API rate limit exceeded"}));
            r.headers.push(("x-ratelimit-remaining".into(), "0".into()));
            r.headers
                .push(("x-ratelimit-reset".into(), reset.to_string()));
            r
        }
    };
    response
        .headers
        .push(("x-ratelimit-limit".into(), "5000".into()));
    Some(response)
}

/// The branch a request names (`ref` / `branch`), else the default branch.
fn branch_tip(repo: &Repository, branch: Option<&String>) -> Option<Oid> {
    match branch {
        Some(name) => repo.refname_to_id(&format!("refs/heads/{name}")).ok(),
        None => repo.head().ok()?.target(),
    }
}

fn wrapped_base64(bytes: &[u8]) -> String {
    let encoded = BASE64.encode(bytes);
    let mut out = String::new();
    for chunk in encoded.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out
}

fn get_contents(repo: &Repository, path: &str, request: &Request) -> Response {
    let Some(tip) = branch_tip(repo, request.query.get("ref")) else {
        return not_found();
    };
    let tree = repo.find_commit(tip).unwrap().tree().unwrap();
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return not_found();
    };
    match entry.kind() {
        Some(ObjectType::Blob) => {
            let blob = repo.find_blob(entry.id()).unwrap();
            let size = blob.content().len();
            let (content, encoding) = if size <= INLINE_LIMIT {
                (wrapped_base64(blob.content()), "base64")
            } else {
                (String::new(), "none")
            };
            respond(
                200,
                json!({
                    "type": "file", "encoding": encoding, "size": size,
                    "name": entry.name().unwrap(), "path": path,
                    "content": content, "sha": entry.id().to_string(),
                }),
            )
        }
        Some(ObjectType::Tree) => {
            let dir = repo.find_tree(entry.id()).unwrap();
            let entries: Vec<Value> = dir
                .iter()
                .map(|e| {
                    let kind = if e.kind() == Some(ObjectType::Tree) {
                        "dir"
                    } else {
                        "file"
                    };
                    json!({
                        "type": kind, "name": e.name().unwrap(),
                        "path": format!("{path}/{}", e.name().unwrap()),
                        "sha": e.id().to_string(),
                    })
                })
                .collect();
            respond(200, Value::Array(entries))
        }
        _ => not_found(),
    }
}

fn put_contents(repo: &Repository, path: &str, request: &Request) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return respond(400, json!({"message": "Problems parsing JSON"}));
    };
    let (Some(message), Some(content)) = (body["message"].as_str(), body["content"].as_str())
    else {
        return respond(
            422,
            json!({"message": "Invalid request.\n\n\"message\" and \"content\" are required."}),
        );
    };
    let Ok(bytes) = BASE64.decode(content) else {
        return respond(
            422,
            json!({"message": "Invalid request.\n\ncontent is not valid Base64"}),
        );
    };
    let branch = body["branch"].as_str().map(str::to_owned);
    let refname = match &branch {
        Some(name) => format!("refs/heads/{name}"),
        None => repo.head().unwrap().name().unwrap().to_owned(),
    };
    let Ok(tip) = repo.refname_to_id(&refname) else {
        return respond(
            404,
            json!({"message": format!("Branch {} not found", branch.unwrap_or_default())}),
        );
    };
    let parent = repo.find_commit(tip).unwrap();
    let base_tree = parent.tree().unwrap();
    let current = base_tree
        .get_path(Path::new(path))
        .ok()
        .filter(|e| e.kind() == Some(ObjectType::Blob))
        .map(|e| e.id().to_string());
    match (body["sha"].as_str(), &current) {
        (None, Some(_)) => {
            return respond(
                422,
                json!({"message": "Invalid request.\n\n\"sha\" wasn't supplied."}),
            );
        }
        (Some(given), Some(now)) if given != now => {
            return respond(
                409,
                json!({"message": format!("{path} does not match {given}")}),
            );
        }
        (Some(given), None) => {
            return respond(
                409,
                json!({"message": format!("{path} does not match {given}")}),
            );
        }
        _ => {}
    }
    let blob = repo.blob(&bytes).unwrap();
    let mut update = git2::build::TreeUpdateBuilder::new();
    update.upsert(path, blob, FileMode::Blob);
    let tree = repo
        .find_tree(update.create_updated(repo, &base_tree).unwrap())
        .unwrap();
    let signature = Signature::now("GitHub API", "noreply@github.com").unwrap();
    let commit = repo
        .commit(None, &signature, &signature, message, &tree, &[&parent])
        .unwrap();
    repo.reference_matching(&refname, commit, true, tip, "contents API")
        .unwrap();
    let status = if current.is_some() { 200 } else { 201 };
    respond(
        status,
        json!({
            "content": {"type": "file", "path": path, "sha": blob.to_string(), "size": bytes.len()},
            "commit": {"sha": commit.to_string(), "message": message},
        }),
    )
}

fn get_blob(repo: &Repository, sha: &str) -> Response {
    let Some(blob) = Oid::from_str(sha)
        .ok()
        .and_then(|id| repo.find_blob(id).ok())
    else {
        return not_found();
    };
    respond(
        200,
        json!({"sha": sha, "size": blob.content().len(), "encoding": "base64",
               "content": wrapped_base64(blob.content())}),
    )
}

/// Commits reachable from `sha` (first parents) that changed `path`,
/// newest first, paginated.
fn list_commits(repo: &Repository, request: &Request) -> Response {
    let Some(tip) = branch_tip(repo, request.query.get("sha")) else {
        return not_found();
    };
    let path = request.query.get("path").map(String::as_str);
    let per_page: usize = request
        .query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let page: usize = request
        .query
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let blob_at = |commit: &git2::Commit<'_>, path: &str| {
        commit
            .tree()
            .ok()?
            .get_path(Path::new(path))
            .ok()
            .map(|e| e.id())
    };
    let mut walk = repo.revwalk().unwrap();
    walk.push(tip).unwrap();
    walk.simplify_first_parent().unwrap();
    let matching: Vec<Value> = walk
        .map(|id| repo.find_commit(id.unwrap()).unwrap())
        .filter(|commit| match path {
            Some(path) => {
                let before = commit.parent(0).ok().and_then(|p| blob_at(&p, path));
                blob_at(commit, path) != before
            }
            None => true,
        })
        .map(|commit| {
            let date = chrono::DateTime::from_timestamp(commit.time().seconds(), 0).unwrap();
            json!({
                "sha": commit.id().to_string(),
                "commit": {
                    "message": commit.message().unwrap_or_default(),
                    "author": {
                        "name": commit.author().name().unwrap_or_default(),
                        "email": commit.author().email().unwrap_or_default(),
                        "date": date.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    },
                },
            })
        })
        .collect();
    let start = (page - 1) * per_page;
    let page: Vec<Value> = matching.into_iter().skip(start).take(per_page).collect();
    respond(200, Value::Array(page))
}
