//! The service: the store behind [`StateAccess`], the options every face
//! shares, and the branch tip everyone watches.

use crate::access::StateAccess;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Where the dashboard's links point; each base gets the id appended.
#[derive(Debug, Clone)]
pub struct LinkBases {
    pub advisory: String,
    pub jira: String,
}

impl Default for LinkBases {
    fn default() -> Self {
        LinkBases {
            advisory: "https://errata.engineering.redhat.com/advisory/".into(),
            jira: "https://issues.redhat.com/browse/".into(),
        }
    }
}

/// Which releases the dashboard shows.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// Every release on the branch.
    #[default]
    All,
    /// What `discover_active_releases` finds.
    Active,
    /// These releases.
    Chosen(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only read tools are registered, and the JSON API takes no writes.
    pub read_only: bool,
    pub links: LinkBases,
    pub selection: Selection,
}

struct Inner {
    access: Arc<dyn StateAccess>,
    options: Options,
    tip: watch::Receiver<Option<String>>,
    /// Cancelled when the server shuts down, so that streams which would
    /// otherwise stay open (live pages, MCP listens) end and let it drain.
    shutdown: CancellationToken,
    /// Every store call still running, also those whose caller has gone
    /// (a dropped request does not stop a write already in the library),
    /// so that shutdown can wait for them.
    calls: TaskTracker,
}

#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

/// How often the branch tip is read; reading a ref costs microseconds.
const TIP_POLL: Duration = Duration::from_millis(200);

impl Service {
    /// A service over `access`. Starts the tip watcher when called inside a
    /// tokio runtime; [`Service::offline`] is for one-shot renders.
    pub fn new(access: Arc<dyn StateAccess>, options: Options) -> Self {
        let (sender, tip) = watch::channel(None);
        let service = Service {
            inner: Arc::new(Inner {
                access,
                options,
                tip,
                shutdown: CancellationToken::new(),
                calls: TaskTracker::new(),
            }),
        };
        let watcher = service.clone();
        tokio::spawn(async move { watcher.watch_tip(sender).await });
        service
    }

    /// A service with no tip watcher, for `statebox report --html`.
    pub fn offline(access: Arc<dyn StateAccess>, options: Options) -> Self {
        let (_, tip) = watch::channel(None);
        Service {
            inner: Arc::new(Inner {
                access,
                options,
                tip,
                shutdown: CancellationToken::new(),
                calls: TaskTracker::new(),
            }),
        }
    }

    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// Runs a blocking store call on tokio's blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn StateAccess) -> T + Send + 'static,
    ) -> T {
        let access = self.inner.access.clone();
        self.inner
            .calls
            .spawn_blocking(move || f(access.as_ref()))
            .await
            .expect("store calls do not panic")
    }

    /// How many store calls are running (or queued for a blocking thread).
    pub fn calls_running(&self) -> usize {
        self.inner.calls.len()
    }

    /// Resolves once no store call is running: a write handed to the
    /// library has then committed or failed, never stopped half-way.
    pub async fn calls_finished(&self) {
        self.inner.calls.close();
        self.inner.calls.wait().await;
    }

    /// The same call, on the current thread (no runtime needed).
    pub fn call_now<T>(&self, f: impl FnOnce(&dyn StateAccess) -> T) -> T {
        f(self.inner.access.as_ref())
    }

    /// Cancelled when the server starts shutting down.
    pub fn shutdown(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// A receiver that sees every later move of the branch tip.
    pub fn tip(&self) -> watch::Receiver<Option<String>> {
        let mut tip = self.inner.tip.clone();
        tip.borrow_and_update();
        tip
    }

    async fn watch_tip(self, sender: watch::Sender<Option<String>>) {
        let mut last: Option<String> = None;
        while !self.inner.shutdown.is_cancelled() {
            match self.call(|a| a.tip()).await {
                Ok(Some(tip)) => {
                    if last.as_deref() != Some(tip.as_str()) {
                        last = Some(tip.clone());
                        if sender.send(Some(tip)).is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => {
                    tracing::info!("this store cannot be watched: live updates are off");
                    return;
                }
                Err(e) => tracing::warn!("reading the branch tip: {e}"),
            }
            tokio::time::sleep(TIP_POLL).await;
        }
    }
}
