//! The MCP server: the tool table, the resources, and resource-updated
//! notifications when the record branch moves.

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
    Tool, UnsubscribeRequestParams,
};
use rmcp::service::{Peer, RequestContext, RoleServer};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const RELEASES_URI: &str = "statebox://releases";
const RELEASE_PREFIX: &str = "statebox://release/";

struct Subscription {
    uri: String,
    peer: Peer<RoleServer>,
    /// What the resource read last time, to notify only on a real change.
    last: Option<String>,
}

#[derive(Clone)]
pub struct Mcp {
    service: Service,
    subscriptions: Arc<Mutex<Vec<Subscription>>>,
    /// Log one line per tool call (stdio; over HTTP the request log does it).
    log_calls: bool,
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
    pub fn new(service: Service, log_calls: bool) -> Self {
        let mcp = Mcp {
            service,
            subscriptions: Arc::default(),
            log_calls,
        };
        let notifier = mcp.clone();
        tokio::spawn(async move { notifier.notify_on_moves().await });
        mcp
    }

    async fn notify_on_moves(self) {
        let mut tip = self.service.tip();
        while tip.changed().await.is_ok() {
            let uris: Vec<String> = {
                let subs = self.subscriptions.lock().expect("not poisoned");
                subs.iter().map(|s| s.uri.clone()).collect()
            };
            for uri in uris {
                let now = {
                    let uri = uri.clone();
                    self.service
                        .call(move |a| read(a, &uri).ok().map(|r| r.0))
                        .await
                };
                let peers: Vec<Peer<RoleServer>> = {
                    let mut subs = self.subscriptions.lock().expect("not poisoned");
                    subs.iter_mut()
                        .filter(|s| s.uri == uri && s.last != now)
                        .map(|s| {
                            s.last = now.clone();
                            s.peer.clone()
                        })
                        .collect()
                };
                for peer in peers {
                    let param = ResourceUpdatedNotificationParam::new(uri.clone());
                    if peer.notify_resource_updated(param).await.is_err() {
                        self.subscriptions
                            .lock()
                            .expect("not poisoned")
                            .retain(|s| !(s.uri == uri && s.peer.is_transport_closed()));
                    }
                }
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
        if self.log_calls {
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
        let last = {
            let uri = uri.clone();
            self.service
                .call(move |a| read(a, &uri).ok().map(|r| r.0))
                .await
        };
        self.subscriptions
            .lock()
            .expect("not poisoned")
            .push(Subscription {
                uri,
                peer: context.peer,
                last,
            });
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.subscriptions
            .lock()
            .expect("not poisoned")
            .retain(|s| s.uri != request.uri);
        Ok(())
    }
}
