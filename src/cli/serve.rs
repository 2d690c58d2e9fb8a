//! `statebox mcp`, `statebox serve` and `statebox report --html`: the
//! service face (crates/statebox-service) on this CLI's store options.
//!
//! Every call the service makes into the library is in this file, behind
//! `StateAccess`: the store is opened with the CLI's own `Context::open`,
//! once per worker thread (a store is not `Send`), and every write goes
//! through the same compare-and-swap path (`write::apply`) as the CLI.

use super::config::StoreArgs;
use super::{Cli, CliError, Command, Context, Global, KeyArg, exit};
use clap::{Args, ValueEnum};
use serde_json::Value;
use statebox::active;
use statebox::config_store::{ConfigStore, Keys, StoreFile};
use statebox::ingest::{RecordError, Recorder, ScanOptions, Scanner};
use statebox::model::{Op, State, Status};
use statebox::release::Release;
use statebox::schema::to_json;
use statebox::write;
use statebox::yaml::{Mapping, Value as Yaml};
use statebox_service::{
    Change, ErrorKind, Failure, LinkBases, Loaded, Options, Selection, Service, StateAccess,
    Stopped, TaskName, Written,
};
use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Options `mcp` and `serve` share.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Register only the read tools
    #[arg(long)]
    read_only: bool,
    /// Log format on stderr: plain text, or one JSON object a line (for clusters)
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(flatten)]
    links: LinkArgs,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
struct LinkArgs {
    /// Advisory links on the dashboard: this base plus the advisory id
    #[arg(long, value_name = "URL", default_value_t = LinkBases::default().advisory)]
    advisory_link_base: String,
    /// Jira links on the dashboard: this base plus the ticket
    #[arg(long, value_name = "URL", default_value_t = LinkBases::default().jira)]
    jira_link_base: String,
}

impl LinkArgs {
    fn bases(&self) -> LinkBases {
        LinkBases {
            advisory: self.advisory_link_base.clone(),
            jira: self.jira_link_base.clone(),
        }
    }
}

/// Which releases the dashboard shows.
#[derive(Debug, Args)]
struct SelectionArgs {
    /// Only these releases (repeatable)
    #[arg(
        short,
        long = "release",
        value_name = "X.Y.Z",
        conflicts_with = "active"
    )]
    releases: Vec<String>,
    /// Only the active releases (per y-stream the latest, until a day after its release date)
    #[arg(long)]
    active: bool,
}

impl SelectionArgs {
    fn selection(&self) -> Selection {
        match (self.active, self.releases.is_empty()) {
            (true, _) => Selection::Active,
            (false, false) => Selection::Chosen(self.releases.clone()),
            (false, true) => Selection::All,
        }
    }
}

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback also needs --allowed-host
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    listen: std::net::SocketAddr,
    /// Require `Authorization: Bearer <token>` on /mcp and /api/, token read from FILE
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Host name (or host:port) clients may reach this server by, besides
    /// localhost (repeatable; an OpenShift Route's host)
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// Largest request body accepted, in bytes
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_body: usize,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT
    /// before the server exits anyway (exit 12)
    // 25: inside the 30 s a kubelet (terminationGracePeriodSeconds) and
    // deploy/systemd (TimeoutStopSec) wait before they SIGKILL.
    #[arg(long, default_value_t = 25, value_name = "SECONDS")]
    shutdown_grace: u64,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    pub service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write one self-contained HTML page (the dashboard, every release page)
    #[arg(long, required = true)]
    html: bool,
    /// Where to write it [default: stdout]
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    links: LinkArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// Logging for every command: `-v` levels, `STATEBOX_LOG` filters; the
/// service commands log one line per request at info, as JSON on request,
/// and no ANSI colours when stderr is not a terminal.
pub fn init_tracing(cli: &Cli) {
    let (serving, format) = match &cli.command {
        Command::Mcp(c) => (true, c.args.service.log_format),
        Command::Serve(c) => (true, c.args.service.log_format),
        _ => (false, LogFormat::Text),
    };
    let level = match (cli.verbose, serving) {
        (0, true) => "warn,statebox=info,statebox_service=info",
        (0, false) => "warn",
        (1, _) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STATEBOX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(exit::ENVIRONMENT, format!("cannot start tokio: {e}")))
}

fn environment(e: std::io::Error) -> CliError {
    CliError::new(exit::ENVIRONMENT, e.to_string())
}

pub fn mcp(global: &Global, args: McpArgs) -> Result<ExitCode, CliError> {
    let access = Access::new(global, &args.service.store)?;
    let options = Options {
        read_only: args.service.read_only,
        links: args.service.links.bases(),
        selection: Selection::All,
    };
    runtime()?
        .block_on(async {
            statebox_service::run_stdio(Service::new(Arc::new(access), options)).await
        })
        .map_err(environment)?;
    Ok(ExitCode::SUCCESS)
}

pub fn serve(global: &Global, args: ServeArgs) -> Result<ExitCode, CliError> {
    let access = Access::new(global, &args.service.store)?;
    let token = match &args.token_file {
        Some(path) => Some(read_token(path)?),
        None => None,
    };
    let options = Options {
        read_only: args.service.read_only,
        links: args.service.links.bases(),
        selection: args.selection.selection(),
    };
    let http = statebox_service::HttpOptions {
        listen: args.listen,
        token,
        allowed_hosts: args.allowed_hosts,
        max_body: args.max_body,
        grace: std::time::Duration::from_secs(args.shutdown_grace),
    };
    let runtime = runtime()?;
    let stopped = runtime
        .block_on(async {
            statebox_service::run_http(Service::new(Arc::new(access), options), http).await
        })
        .map_err(environment)?;
    match stopped {
        // Every store call has returned: dropping the runtime waits for nothing.
        Stopped::Drained => Ok(ExitCode::SUCCESS),
        // Dropping the runtime would wait for the store calls still running,
        // past the grace period or the second signal: leave them to the exit.
        // The branch moves in one ref update, so a write cut off there is
        // committed or not, never half, as when the kubelet's SIGKILL ends it.
        Stopped::GraceElapsed { .. } => {
            runtime.shutdown_background();
            Ok(ExitCode::from(exit::GRACE_ELAPSED))
        }
        Stopped::Interrupted { signal } => {
            runtime.shutdown_background();
            Ok(ExitCode::from(128 + signal as u8))
        }
    }
}

fn read_token(path: &PathBuf) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            exit::INVALID_INPUT,
            format!("cannot read token file {}: {e}", path.display()),
        )
    })?;
    let token = text.trim();
    if token.len() < 16 {
        return Err(CliError::new(
            exit::INVALID_INPUT,
            format!(
                "token file {} holds {} characters; use at least 16",
                path.display(),
                token.len()
            ),
        ));
    }
    Ok(token.to_owned())
}

pub fn report(global: &Global, args: ReportArgs) -> Result<ExitCode, CliError> {
    let access = Access::new(global, &args.store)?;
    let options = Options {
        read_only: true,
        links: args.links.bases(),
        selection: args.selection.selection(),
    };
    let page = statebox_service::report_html(&Service::offline(Arc::new(access), options))
        .map_err(|e| CliError::new(code(e.kind), e.message))?;
    match &args.output {
        Some(path) => std::fs::write(path, page).map_err(|e| {
            CliError::new(
                exit::ENVIRONMENT,
                format!("cannot write {}: {e}", path.display()),
            )
        })?,
        None => print!("{page}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::NotFound => exit::NOT_FOUND,
        ErrorKind::Rejected => exit::INVALID_INPUT,
        ErrorKind::BadState => exit::BAD_STATE,
        ErrorKind::RaceLost => exit::CONTENTION,
        ErrorKind::KeptLocally => exit::REMOTE_UNREACHABLE,
        ErrorKind::ConfigStore => exit::CONFIG_STORE,
        ErrorKind::Environment => exit::ENVIRONMENT,
    }
}

fn failure(e: CliError) -> Failure {
    let kind = match e.code {
        exit::NOT_FOUND => ErrorKind::NotFound,
        exit::INVALID_INPUT | exit::USAGE => ErrorKind::Rejected,
        exit::BAD_STATE => ErrorKind::BadState,
        exit::CONTENTION => ErrorKind::RaceLost,
        exit::REMOTE_UNREACHABLE => ErrorKind::KeptLocally,
        exit::CONFIG_STORE => ErrorKind::ConfigStore,
        _ => ErrorKind::Environment,
    };
    Failure::new(kind, e.message)
}

/// The config store, decrypted in memory only, again when the file changes.
struct ConfigSource {
    file: StoreFile,
    keys: Keys,
    loaded: Mutex<Option<(SystemTime, Arc<ConfigStore>)>>,
}

impl ConfigSource {
    fn get(&self) -> Result<Arc<ConfigStore>, CliError> {
        let modified = std::fs::metadata(self.file.path())
            .and_then(|m| m.modified())
            .map_err(|e| {
                CliError::new(
                    exit::CONFIG_STORE,
                    format!("config store {}: {e}", self.file.path().display()),
                )
            })?;
        let mut loaded = self.loaded.lock().expect("not poisoned");
        if let Some((at, store)) = loaded.as_ref()
            && *at == modified
        {
            return Ok(store.clone());
        }
        let store = Arc::new(self.file.load(&self.keys)?);
        *loaded = Some((modified, store.clone()));
        Ok(store)
    }

    fn entry(&self, release: &str) -> Result<Option<Mapping>, CliError> {
        // Only the keys a state's metadata may hold: the entry can also
        // carry credentials, which an agent must not be handed.
        Ok(self.get()?.release_entry(release)?.map(|e| e.metadata))
    }
}

thread_local! {
    /// Each worker thread's open store (stores are not `Send`); opened on
    /// first use. Reads go to the branch tip every time: nothing is cached.
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

struct Access {
    global: Global,
    catalog: Vec<TaskName>,
    config: Option<ConfigSource>,
    /// Writes from this process take turns: they all move one branch ref,
    /// so running them at once only makes them lose compare-and-swap races
    /// to each other and back off. Other processes still race us, and the
    /// write path's compare-and-swap keeps that safe.
    writing: Mutex<()>,
}

fn parse_release(release: &str) -> Result<Release, CliError> {
    Ok(release.parse::<Release>()?)
}

fn state_json(state: &State) -> Value {
    to_json(&state.to_value())
}

impl Access {
    fn new(global: &Global, store: &StoreArgs) -> Result<Self, CliError> {
        let catalog = global
            .catalog()?
            .entries()
            .iter()
            .map(|e| TaskName {
                name: e.name.clone(),
                display_name: e.display_name.clone(),
            })
            .collect();
        let config = match store.file(global) {
            Some(file) => Some(ConfigSource {
                keys: store.keys(&file)?,
                file,
                loaded: Mutex::new(None),
            }),
            None => None,
        };
        Ok(Access {
            global: global.clone(),
            catalog,
            config,
            writing: Mutex::new(()),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Context) -> Result<T, CliError>) -> Result<T, Failure> {
        CONTEXT.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(Context::open(&self.global).map_err(failure)?);
            }
            f(slot.as_ref().expect("opened above")).map_err(failure)
        })
    }
}

/// A chunk of output as `statebox ingest` reads it: scanned, and its
/// transitions coalesced as the recorder does, in one write.
fn ingest(
    ctx: &Context,
    release: &Release,
    task: &Option<String>,
    output: &str,
    key: &KeyArg,
) -> Result<Written, CliError> {
    if let Some(name) = task
        && ctx.catalog.resolve(name).is_none()
    {
        return Err(statebox::model::OpError::unknown_task(&ctx.catalog, name).into());
    }
    let mut scanner = Scanner::new(ScanOptions {
        task: task.clone(),
        ..ScanOptions::default()
    });
    let mut events = Vec::new();
    scanner.feed(
        statebox::text::clean(output.as_bytes()).as_bytes(),
        &mut events,
    );
    scanner.finish(&mut events);
    let mut recorder = Recorder::new(ctx.store.as_ref(), release.clone(), &ctx.catalog, false);
    recorder.push(events).map_err(|e| match e {
        RecordError::UnknownTask { .. } => CliError::new(exit::INVALID_INPUT, e.to_string()),
        RecordError::Write(e) => e.into(),
    })?;
    match recorder.take() {
        Some(op) => Ok(written(ctx.write(release, &op, key)?)),
        None => Ok(Written {
            state: write::load(ctx.store.as_ref(), release)?
                .as_ref()
                .map_or(Value::Null, state_json),
            changed: false,
            commit: None,
            message: "no status line for a task: nothing written".to_owned(),
            repeated: false,
        }),
    }
}

fn written(outcome: write::Outcome) -> Written {
    Written {
        state: state_json(&outcome.state),
        changed: outcome.written.is_some(),
        commit: outcome.written.and_then(|v| v.0),
        message: outcome.message,
        repeated: outcome.repeated,
    }
}

/// Changes whenever a file under the folder does: paths, sizes, mtimes.
fn folder_fingerprint(root: &std::path::Path) -> Result<String, CliError> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    let mut stack = vec![root.join(statebox::release::RELEASES_DIR)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                entry.path().hash(&mut hasher);
                meta.len().hash(&mut hasher);
                meta.modified().ok().hash(&mut hasher);
            }
        }
    }
    Ok(format!("{:016x}", hasher.finish()))
}

impl StateAccess for Access {
    fn describe(&self) -> String {
        self.with(|ctx| Ok(ctx.store.describe()))
            .unwrap_or_else(|e| e.message)
    }

    fn catalog(&self) -> Vec<TaskName> {
        self.catalog.clone()
    }

    fn releases(&self) -> Result<Vec<String>, Failure> {
        self.with(|ctx| {
            let mut releases: Vec<Release> = ctx
                .store
                .list()?
                .iter()
                .filter_map(|p| Release::from_path(p))
                .collect();
            releases.sort();
            Ok(releases.iter().map(Release::to_string).collect())
        })
    }

    fn active_releases(&self) -> Result<Vec<String>, Failure> {
        let releases: Vec<Release> = self
            .releases()?
            .iter()
            .filter_map(|r| r.parse().ok())
            .collect();
        let active = active::active_releases(&releases, active::today(), |release| {
            Ok(self.load(&release.to_string())?.and_then(|loaded| {
                loaded.json["metadata"]["release_date"]
                    .as_str()
                    .map(str::to_owned)
            }))
        })?;
        Ok(active.into_iter().map(Release::to_string).collect())
    }

    fn load(&self, release: &str) -> Result<Option<Loaded>, Failure> {
        let release = parse_release(release).map_err(failure)?;
        self.with(|ctx| {
            let path = release.path();
            let Some(bytes) = ctx.store.read(&path)?.content else {
                return Ok(None);
            };
            // Validates the file the way every command does ...
            let state = write::decode(&path, &bytes).map_err(CliError::from)?;
            if state.release != release.to_string() {
                return Err(CliError::new(
                    exit::BAD_STATE,
                    format!(
                        "{path}: holds release '{}', expected '{release}'",
                        state.release
                    ),
                ));
            }
            // ... and answers with what PyYAML would load from it.
            let yaml = String::from_utf8(bytes).expect("decode checked UTF-8");
            let value: Yaml = statebox::yaml::parse(&yaml).expect("decode parsed it");
            Ok(Some(Loaded {
                json: to_json(&value),
                yaml,
            }))
        })
    }

    fn apply(
        &self,
        release: &str,
        change: &Change,
        idempotency_key: Option<&str>,
    ) -> Result<Written, Failure> {
        let release = parse_release(release).map_err(failure)?;
        let key = KeyArg {
            key: idempotency_key.map(str::to_owned),
        };
        let _turn = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let op = match change {
            Change::Ingest { task, output } => {
                return self.with(|ctx| ingest(ctx, &release, task, output, &key));
            }
            Change::Init => Op::Init {
                metadata: match &self.config {
                    Some(config) => config
                        .entry(&release.to_string())
                        .map_err(failure)?
                        .unwrap_or_default(),
                    None => Mapping::new(),
                },
            },
            Change::SetTask {
                task,
                status,
                result,
            } => Op::SetTask {
                task: task.clone(),
                status: status
                    .parse::<Status>()
                    .map_err(|e| Failure::new(ErrorKind::Rejected, e.to_string()))?,
                result: result.clone(),
            },
            Change::AddIssue {
                text,
                blocker,
                related_tasks,
            } => Op::AddIssue {
                text: text.clone(),
                blocker: *blocker,
                related_tasks: related_tasks.clone(),
            },
            Change::ResolveIssue { query, resolution } => Op::ResolveIssue {
                query: query.clone(),
                resolution: resolution.clone(),
            },
        };
        self.with(|ctx| Ok(written(ctx.write(&release, &op, &key)?)))
    }

    fn history(&self, release: &str) -> Result<Vec<Value>, Failure> {
        let release = parse_release(release).map_err(failure)?;
        self.with(|ctx| {
            let entries = ctx.store.history(&release.path())?;
            Ok(entries
                .iter()
                .map(|e| serde_json::to_value(e).expect("history serializes"))
                .collect())
        })
    }

    fn config_metadata(&self, release: &str) -> Result<Option<Value>, Failure> {
        let Some(config) = &self.config else {
            return Ok(None);
        };
        let release = parse_release(release).map_err(failure)?;
        let entry = config.entry(&release.to_string()).map_err(failure)?;
        Ok(entry.map(|m| to_json(&Yaml::Map(m))))
    }

    fn tip(&self) -> Result<Option<String>, Failure> {
        if let Some(dir) = &self.global.dir {
            return folder_fingerprint(dir).map(Some).map_err(failure);
        }
        if self.global.github.is_some() {
            return Ok(None); // an API call per poll: not cheap
        }
        // A git store's read answers with the branch tip as its version.
        self.with(|ctx| {
            let snapshot = ctx.store.read(statebox::release::RELEASES_DIR)?;
            Ok(Some(snapshot.version.0.unwrap_or_default()))
        })
    }

    fn readiness(&self) -> Result<(), String> {
        let context = Context::open(&self.global).map_err(|e| e.message)?;
        context.store.list().map_err(|e| e.to_string())?;
        if let Some(config) = &self.config {
            config.get().map_err(|e| e.message)?;
        }
        Ok(())
    }
}
