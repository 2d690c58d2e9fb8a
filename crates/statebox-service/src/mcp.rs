//! The MCP server: the tool table, the resources, and notifications when
//! the record branch moves: `notifications/resources/updated` for a watched
//! release and `notifications/resources/list_changed` when releases come or
//! go. Clients of protocol 2026-07-28 ask for them with
//! `subscriptions/listen`, which works over stdio and stateless HTTP alike
//! (the notifications ride the listen request's own response stream);
//! older clients use `resources/subscribe`, which needs a stream the server
//! can push on at any time, so only `statebox mcp` (stdio) takes it.

use crate::access::{ErrorKind, Failure, StateAccess};
use crate::service::Service;
use crate::tools;
use rmcp::ErrorData as McpError;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
    ResourceUpdatedNotificationParam, ServerCapabilities, ServerConfig, SubscribeRequestParams,
    SubscriptionFilter, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, Peer, RequestContext, RoleServer, SubscriptionContext};
use std::sync::Arc;
use std::time::Instant;

pub const RELEASES_URI: &str = "statebox://releases";
const RELEASE_PREFIX: &str = "statebox://release/";

/// A resource someone watches and what it read last time, to notify only
/// on a real change (the tip also moves for other releases' writes).
struct Watched {
    uri: String,
    last: Option<String>,
}

impl Watched {
    async fn new(service: &Service, uri: String) -> Self {
        let last = current(service, &uri).await;
        Watched { uri, last }
    }

    /// Reads the resource again; true when it differs from last time.
    async fn changed(&mut self, service: &Service) -> bool {
        let now = current(service, &self.uri).await;
        let changed = now != self.last;
        self.last = now;
        changed
    }
}

/// A resource's text now; `None` when it cannot be read (e.g. not created yet).
async fn current(service: &Service, uri: &str) -> Option<String> {
    let uri = uri.to_owned();
    service.call(move |a| read(a, &uri).ok().map(|r| r.0)).await
}

/// The releases listed as resources, to tell when the list changes.
async fn listed(service: &Service) -> Option<Vec<String>> {
    service.call(|a| a.releases().ok()).await
}

/// What one client watches: resources by URI and, when it asked, the
/// release list (`releases` holds the list it last heard of).
#[derive(Default)]
struct Watch {
    resources: Vec<Watched>,
    releases: Option<Option<Vec<String>>>,
}

/// What a move of the branch tip changed for a [`Watch`].
struct Moved {
    updated: Vec<String>,
    list_changed: bool,
}

impl Watch {
    async fn new(service: &Service, uris: Vec<String>, list: bool) -> Self {
        let mut resources = Vec::new();
        for uri in uris {
            resources.push(Watched::new(service, uri).await);
        }
        let releases = match list {
            true => Some(listed(service).await),
            false => None,
        };
        Watch {
            resources,
            releases,
        }
    }

    /// Reads everything watched again, after the tip moved.
    async fn after_move(&mut self, service: &Service) -> Moved {
        let mut updated = Vec::new();
        for resource in &mut self.resources {
            if resource.changed(service).await {
                updated.push(resource.uri.clone());
            }
        }
        let mut list_changed = false;
        if let Some(last) = self.releases.as_mut() {
            let now = listed(service).await;
            list_changed = now != *last;
            *last = now;
        }
        Moved {
            updated,
            list_changed,
        }
    }
}

/// The stdio client (protocol before 2026-07-28): its `resources/subscribe`s,
/// and list changes told without asking.
struct StdioClient {
    peer: Peer<RoleServer>,
    watch: Watch,
}

#[derive(Clone)]
pub struct Mcp {
    service: Service,
    stdio_client: Arc<tokio::sync::Mutex<Option<StdioClient>>>,
    /// Served on stdio: one client that can be pushed to at any time; log
    /// one line per tool call (over HTTP the request log does it).
    stdio: bool,
}

/// What a resource URI names.
enum Target {
    Releases,
    Release { version: String, json: bool },
    Log { version: String },
}

fn target(uri: &str) -> Option<Target> {
    if uri == RELEASES_URI {
        return Some(Target::Releases);
    }
    let rest = uri.strip_prefix(RELEASE_PREFIX)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(version) = path.strip_suffix("/log") {
        return Some(Target::Log {
            version: version.to_owned(),
        });
    }
    Some(Target::Release {
        version: path.to_owned(),
        json: query.split('&').any(|q| q == "format=json"),
    })
}

/// A resource's current text and MIME type.
fn read(access: &dyn StateAccess, uri: &str) -> Result<(String, &'static str), Failure> {
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON serializes");
    match target(uri) {
        None => Err(Failure::new(
            ErrorKind::NotFound,
            format!("no resource {uri}"),
        )),
        Some(Target::Releases) => {
            let status = tools::status(access)?;
            Ok((
                pretty(&serde_json::json!(status.releases)),
                "application/json",
            ))
        }
        Some(Target::Release { version, json }) => {
            let loaded = access.load(&version)?.ok_or_else(|| {
                Failure::new(
                    ErrorKind::NotFound,
                    format!("release {version} has no state on {}", access.describe()),
                )
            })?;
            Ok(if json {
                (pretty(&loaded.json), "application/json")
            } else {
                (loaded.yaml, "application/yaml")
            })
        }
        Some(Target::Log { version }) => Ok((
            pretty(&serde_json::json!(access.history(&version)?)),
            "application/json",
        )),
    }
}

fn to_mcp(e: Failure) -> McpError {
    match e.kind {
        ErrorKind::NotFound => McpError::resource_not_found(e.message, None),
        ErrorKind::Rejected => McpError::invalid_params(e.message, None),
        _ => McpError::internal_error(e.message, None),
    }
}

impl Mcp {
    /// The handler; starts the notifier that watches the branch tip.
    pub fn new(service: Service, stdio: bool) -> Self {
        let mcp = Mcp {
            service,
            stdio_client: Arc::default(),
            stdio,
        };
        if stdio {
            let notifier = mcp.clone();
            tokio::spawn(async move { notifier.notify_on_moves().await });
        }
        mcp
    }

    /// Changes the stdio client's entry, made for `peer` if this is its
    /// first subscribe or its `initialized`.
    async fn update_stdio_client(&self, peer: Peer<RoleServer>, change: impl FnOnce(&mut Watch)) {
        let mut guard = self.stdio_client.lock().await;
        let client = guard.get_or_insert_with(|| StdioClient {
            peer,
            watch: Watch::default(),
        });
        change(&mut client.watch);
    }

    /// Notifies the stdio client's `resources/subscribe`s and list changes.
    async fn notify_on_moves(self) {
        let mut tip = self.service.tip();
        while tip.changed().await.is_ok() {
            let mut guard = self.stdio_client.lock().await;
            let Some(client) = guard.as_mut() else {
                continue;
            };
            let moved = client.watch.after_move(&self.service).await;
            for uri in moved.updated {
                let param = ResourceUpdatedNotificationParam::new(uri);
                let _ = client.peer.notify_resource_updated(param).await;
            }
            if moved.list_changed {
                let _ = client.peer.notify_resource_list_changed().await;
            }
            if client.peer.is_transport_closed() {
                *guard = None;
            }
        }
    }
}

impl ServerHandler for Mcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_resources_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("statebox", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Release state on a git branch: tasks, issues and metadata per release. \
             oar_* tools behave like the original release-tests server (JSON text, errors inside it); \
             statebox_* tools return structured output and real errors with a kind.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::list(
            self.service.options().read_only,
        )))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::list(self.service.options().read_only)
            .into_iter()
            .find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        let args = request.arguments.unwrap_or_default();
        let release = tools::release_of(&args).unwrap_or("-").to_owned();
        let result = tools::call(&self.service, &request.name, args).await;
        if self.stdio {
            let outcome = match &result {
                Ok(r) if r.is_error == Some(true) => "tool error",
                Ok(_) => "ok",
                Err(_) => "invalid",
            };
            tracing::info!(
                tool = %request.name,
                %release,
                outcome,
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                "tools/call"
            );
        }
        result.map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let releases = self.service.call(|a| a.releases()).await.map_err(to_mcp)?;
        let mut resources = vec![
            Resource::new(RELEASES_URI, "releases")
                .with_description("Every release's health and counts")
                .with_mime_type("application/json"),
        ];
        resources.extend(releases.iter().map(|r| {
            Resource::new(format!("{RELEASE_PREFIX}{r}"), r.clone())
                .with_description(format!("The state file of release {r}, byte for byte"))
                .with_mime_type("application/yaml")
        }));
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("statebox://release/{version}", "release")
                .with_description(
                    "A release's state file, byte for byte (add ?format=json for JSON)",
                )
                .with_mime_type("application/yaml"),
            ResourceTemplate::new("statebox://release/{version}/log", "release-log")
                .with_description("A release's history on the record branch, newest first")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.clone();
        let (text, mime) = self
            .service
            .call(move |a| read(a, &uri))
            .await
            .map_err(to_mcp)?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, request.uri).with_mime_type(mime),
        ])
        .into())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let uri = request.uri;
        if target(&uri).is_none() {
            return Err(McpError::resource_not_found(
                format!("no resource {uri}"),
                None,
            ));
        }
        if !self.stdio {
            // A stateless HTTP server keeps no stream to push on later.
            return Err(McpError::invalid_request(
                "resources/subscribe needs a session this stateless server does not keep: \
                 use subscriptions/listen (protocol 2026-07-28), or statebox mcp on stdio",
                None,
            ));
        }
        let watched = Watched::new(&self.service, uri).await;
        self.update_stdio_client(context.peer, |watch| watch.resources.push(watched))
            .await;
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if let Some(client) = self.stdio_client.lock().await.as_mut() {
            client.watch.resources.retain(|w| w.uri != request.uri);
        }
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if self.stdio {
            let releases = listed(&self.service).await;
            self.update_stdio_client(context.peer, |watch| watch.releases = Some(releases))
                .await;
        }
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let resources = requested
            .resource_subscriptions
            .iter()
            .flatten()
            .filter(|uri| target(uri).is_some())
            .cloned();
        let mut accepted = SubscriptionFilter::builder().resource_subscriptions(resources);
        if requested.resources_list_changed == Some(true) {
            accepted = accepted.resources_list_changed();
        }
        Some(accepted.build())
    }

    /// One `subscriptions/listen` stream: after each move of the branch tip,
    /// the watched resources that read differently, and the release list if
    /// it changed. Ends when the client cancels or the server shuts down.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let accepted = context.accepted().clone();
        let mut tip = self.service.tip();
        let uris = accepted.resource_subscriptions.unwrap_or_default();
        let list = accepted.resources_list_changed == Some(true);
        let mut watch = Watch::new(&self.service, uris, list).await;
        let shutdown = self.service.shutdown();
        loop {
            tokio::select! {
                _ = context.cancelled() => return Ok(()),
                _ = shutdown.cancelled() => return Ok(()),
                moved = tip.changed() => if moved.is_err() { return Ok(()) },
            }
            let moved = watch.after_move(&self.service).await;
            let sink = context.sink();
            for uri in moved.updated {
                if sink.notify_resource_updated(uri).await.is_err() {
                    return Ok(());
                }
            }
            if moved.list_changed && sink.notify_resource_list_changed().await.is_err() {
                return Ok(());
            }
        }
    }
}
