//! The record branch through the GitHub REST API, for places without a
//! clone: the Contents API with the file's blob sha as the compare-and-swap
//! precondition, as the Python original did.
//!
//! A stale sha (409) and a create race (422 "sha wasn't supplied": the file
//! appeared since it was read as absent) both become [`BackendError::Stale`],
//! so `backend::apply` re-reads and re-applies the operation. An uncontended
//! write costs two requests: one GET, one PUT.
//!
//! Rate limits (403/429 with `retry-after`, or `x-ratelimit-remaining: 0`
//! with `x-ratelimit-reset`) are waited out within a bounded budget
//! (`STATEBOX_GITHUB_RATE_WAIT` seconds, default 60), then reported. The
//! token is handed to octocrab as a secret and never appears in messages.

use super::listing::EntryKind;
use super::{Backend, BackendError, CasToken, HistoryEntry, Listing, Snapshot};
use crate::release::RELEASES_DIR;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde_json::{Value, json};
use std::time::Duration;

/// The API base used unless `--github-api-url` names another (GitHub
/// Enterprise, or the test server).
pub const DEFAULT_API_URL: &str = "https://api.github.com";
const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(60);
const PAGE: usize = 100;

/// State files on a GitHub repository's branch, read and written through
/// the contents API: versions are blob shas, so GitHub itself refuses a
/// write based on a stale read.
pub struct GitHubBackend {
    client: Octocrab,
    runtime: tokio::runtime::Runtime,
    api: String,
    owner: String,
    repo: String,
    branch: String,
    rate_wait: Duration,
}

/// An HTTP answer: status, the headers rate limiting needs, JSON body.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    limit_exhausted: bool,
    limit_reset: Option<i64>,
    body: Value,
}

enum Method {
    Get,
    Put(Value),
}

impl GitHubBackend {
    /// `owner_repo` is `OWNER/REPO`; `api` is the API root (GitHub
    /// Enterprise: `https://HOST/api/v3`).
    pub fn new(
        owner_repo: &str,
        branch: &str,
        api: &str,
        token: &str,
    ) -> Result<Self, BackendError> {
        let bad = |reason: String| BackendError::GitHub {
            repo: owner_repo.to_owned(),
            reason,
        };
        let (owner, repo) = owner_repo
            .split_once('/')
            .filter(|(o, r)| {
                let ok = |s: &str| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                };
                ok(o) && ok(r)
            })
            .ok_or_else(|| bad("expected OWNER/REPO".to_owned()))?;
        if token.is_empty() {
            return Err(bad("GITHUB_TOKEN is empty".to_owned()));
        }
        let rate_wait = match std::env::var("STATEBOX_GITHUB_RATE_WAIT") {
            Ok(text) => Duration::from_secs(text.parse().map_err(|_| {
                bad(format!(
                    "STATEBOX_GITHUB_RATE_WAIT must be whole seconds, got '{text}'"
                ))
            })?),
            Err(_) => DEFAULT_RATE_WAIT,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| bad(format!("cannot start the HTTP runtime: {e}")))?;
        let api = api.trim_end_matches('/').to_owned();
        let client = {
            // octocrab builds its HTTP client inside a runtime.
            let _guard = runtime.enter();
            Octocrab::builder()
                .base_uri(api.as_str())
                .map_err(|e| bad(format!("invalid API URL '{api}': {e}")))?
                .personal_token(token.to_owned())
                // Retries and rate-limit waits are decided here, bounded.
                .add_retry_config(RetryConfig::None)
                .build()
                .map_err(|e| bad(format!("cannot build the HTTP client: {e}")))?
        };
        Ok(GitHubBackend {
            client,
            runtime,
            api,
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            branch: branch.to_owned(),
            rate_wait,
        })
    }

    fn error(&self, reason: impl Into<String>) -> BackendError {
        BackendError::GitHub {
            repo: format!("{}/{}", self.owner, self.repo),
            reason: reason.into(),
        }
    }

    fn url(&self, route: &str) -> String {
        format!("{}/repos/{}/{}/{route}", self.api, self.owner, self.repo)
    }

    async fn send(&self, url: &str, method: &Method) -> Result<Answer, octocrab::Error> {
        let response = match method {
            Method::Get => self.client._get(url).await?,
            Method::Put(body) => self.client._put(url, Some(body)).await?,
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let limit_exhausted = header("x-ratelimit-remaining").as_deref() == Some("0");
        let limit_reset = header("x-ratelimit-reset").and_then(|v| v.parse().ok());
        let text = self.client.body_to_string(response).await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            retry_after,
            limit_exhausted,
            limit_reset,
            body,
        })
    }

    /// One request, waiting out rate limits within the budget; 401 and
    /// transport failures become errors, other statuses are the caller's.
    fn request(&self, url: &str, method: Method) -> Result<Answer, BackendError> {
        let mut waited = Duration::ZERO;
        loop {
            let answer = self
                .runtime
                .block_on(self.send(url, &method))
                .map_err(|e| self.error(format!("request to {} failed: {e}", self.api)))?;
            if answer.status == 401 {
                return Err(self.error(format!(
                    "GITHUB_TOKEN rejected by {} (401 {})",
                    self.api,
                    message(&answer.body)
                )));
            }
            let Some(pause) = rate_limit_pause(&answer) else {
                return Ok(answer);
            };
            if waited + pause > self.rate_wait {
                return Err(self.error(format!(
                    "rate limited by {} ({} {}); the limit lifts in {} s, beyond the {} s wait budget (STATEBOX_GITHUB_RATE_WAIT)",
                    self.api,
                    answer.status,
                    message(&answer.body),
                    pause.as_secs(),
                    self.rate_wait.as_secs()
                )));
            }
            tracing::warn!(
                "rate limited by {}; waiting {} s before retrying",
                self.api,
                pause.as_secs()
            );
            std::thread::sleep(pause);
            waited += pause;
        }
    }

    fn unexpected(&self, what: &str, answer: &Answer) -> BackendError {
        self.error(format!(
            "{what}: unexpected answer {} {}",
            answer.status,
            message(&answer.body)
        ))
    }

    fn contents_url(&self, path: &str) -> String {
        self.url(&format!("contents/{path}?ref={}", self.branch))
    }

    /// A file's bytes from a contents answer; files over 1 MB come without
    /// content, so their blob is fetched by sha.
    fn file_bytes(&self, path: &str, file: &Value) -> Result<Vec<u8>, BackendError> {
        let encoded = match file["encoding"].as_str() {
            Some("base64") => file["content"].as_str().unwrap_or_default().to_owned(),
            _ => {
                let sha = file["sha"].as_str().unwrap_or_default();
                let answer = self.request(&self.url(&format!("git/blobs/{sha}")), Method::Get)?;
                if answer.status != 200 {
                    return Err(self.unexpected(&format!("reading blob of {path}"), &answer));
                }
                answer.body["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        // GitHub wraps base64 at 60 columns.
        let compact: String = encoded.split_whitespace().collect();
        BASE64
            .decode(compact)
            .map_err(|e| self.error(format!("{path}: content is not valid base64: {e}")))
    }

    /// A directory's entries, or none if it does not exist.
    /// What the contents API answers for `path`: an array for a folder,
    /// an object for anything else; `None` when nothing is there.
    fn contents(&self, path: &str) -> Result<Option<Value>, BackendError> {
        let answer = self.request(&self.contents_url(path), Method::Get)?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 => Ok(None),
            _ => Err(self.unexpected(&format!("listing {path}"), &answer)),
        }
    }
}

/// An entry of a contents listing as the listing rules see it (GitHub's
/// `type` is `dir`, `file`, `symlink` or `submodule`).
fn entry_kind(entry: &Value) -> EntryKind {
    match entry["type"].as_str() {
        Some("dir") => EntryKind::Folder,
        Some("file") => EntryKind::File,
        _ => EntryKind::Other,
    }
}

fn message(body: &Value) -> String {
    body["message"].as_str().unwrap_or("").to_owned()
}

/// How long a rate-limited answer asks us to wait; `None` if not limited.
fn rate_limit_pause(answer: &Answer) -> Option<Duration> {
    if !matches!(answer.status, 403 | 429) {
        return None;
    }
    if let Some(seconds) = answer.retry_after {
        return Some(Duration::from_secs(seconds));
    }
    if answer.limit_exhausted {
        let now = chrono::Utc::now().timestamp();
        let reset = answer.limit_reset.unwrap_or(now + 60);
        return Some(Duration::from_secs((reset - now).max(1) as u64));
    }
    None
}

impl Backend for GitHubBackend {
    fn describe(&self) -> String {
        format!(
            "branch '{}' of GitHub repository {}/{} ({})",
            self.branch, self.owner, self.repo, self.api
        )
    }

    fn read(&self, path: &str) -> Result<Snapshot, BackendError> {
        let answer = self.request(&self.contents_url(path), Method::Get)?;
        match answer.status {
            200 if answer.body["type"] == "file" => Ok(Snapshot {
                content: Some(self.file_bytes(path, &answer.body)?),
                version: CasToken(answer.body["sha"].as_str().map(str::to_owned)),
            }),
            200 => Err(self.error(format!("{path} is not a file"))),
            404 => Ok(Snapshot {
                content: None,
                version: CasToken(None),
            }),
            _ => Err(self.unexpected(&format!("reading {path}"), &answer)),
        }
    }

    fn write(
        &self,
        path: &str,
        content: &[u8],
        base: &CasToken,
        message_text: &str,
    ) -> Result<CasToken, BackendError> {
        let mut body = json!({
            "message": message_text,
            "content": BASE64.encode(content),
            "branch": self.branch,
        });
        if let Some(sha) = &base.0 {
            body["sha"] = json!(sha);
        }
        let answer = self.request(&self.url(&format!("contents/{path}")), Method::Put(body))?;
        match answer.status {
            200 | 201 => Ok(CasToken(
                answer.body["content"]["sha"].as_str().map(str::to_owned),
            )),
            409 => Err(BackendError::Stale),
            422 if message(&answer.body).contains("sha") => Err(BackendError::Stale),
            404 => Err(self.error(format!(
                "writing {path}: {} (does branch '{}' exist?)",
                message(&answer.body),
                self.branch
            ))),
            _ => Err(self.unexpected(&format!("writing {path}"), &answer)),
        }
    }

    fn listing(&self) -> Result<Listing, BackendError> {
        let mut listing = Listing::default();
        let Some(streams) = self.contents(RELEASES_DIR)? else {
            return Ok(listing);
        };
        for stream in streams.as_array().into_iter().flatten() {
            let stream_name = stream["name"].as_str().unwrap_or_default();
            if !listing.stream(stream_name, entry_kind(stream)) {
                continue;
            }
            // Asked directly, so a stream without state costs one request
            // and a `statebox` file answers as an object, not a listing.
            let folder = format!("{RELEASES_DIR}/{stream_name}/statebox");
            let files = self.contents(&folder)?;
            let kind = files.as_ref().map(|answer| {
                if answer.is_array() {
                    EntryKind::Folder
                } else {
                    entry_kind(answer)
                }
            });
            if !listing.statebox_folder(stream_name, kind) {
                continue;
            }
            for file in files.iter().filter_map(Value::as_array).flatten() {
                let name = file["name"].as_str().unwrap_or_default();
                let sha = file["sha"].as_str().map(str::to_owned);
                listing.entry(stream_name, name, entry_kind(file), sha);
            }
        }
        Ok(listing.sorted())
    }

    fn history_each(
        &self,
        path: &str,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        for page in 1.. {
            let url = self.url(&format!(
                "commits?sha={}&path={path}&per_page={PAGE}&page={page}",
                self.branch
            ));
            let answer = self.request(&url, Method::Get)?;
            if answer.status != 200 {
                return Err(self.unexpected(&format!("history of {path}"), &answer));
            }
            let commits = answer.body.as_array().cloned().unwrap_or_default();
            for commit in &commits {
                let text = commit["commit"]["message"].as_str().unwrap_or_default();
                each(HistoryEntry {
                    commit: commit["sha"].as_str().unwrap_or_default().to_owned(),
                    time: commit["commit"]["author"]["date"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    author: commit["commit"]["author"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    message: text.lines().next().unwrap_or_default().to_owned(),
                })?;
            }
            if commits.len() < PAGE {
                break;
            }
        }
        Ok(())
    }
}
