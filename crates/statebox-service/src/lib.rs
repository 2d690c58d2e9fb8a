//! statebox's service face: one set of MCP tools over stdio (`statebox mcp`)
//! and streamable HTTP (`statebox serve`), a JSON API and a live dashboard,
//! all reading and writing through [`access::StateAccess`].

pub mod access;
mod compat;
mod dashboard;
mod http;
mod mcp;
mod pyjson;
mod service;
mod tools;
mod views;

pub use access::{Change, ErrorKind, Failure, Loaded, StateAccess, TaskName, Written};
pub use http::{HttpOptions, Stopped};
pub use service::{LinkBases, Options, Selection, Service};

use rmcp::ServiceExt;

/// `statebox mcp`: serves the tools on stdin/stdout until the client leaves.
pub async fn run_stdio(service: Service) -> std::io::Result<()> {
    let server = mcp::Mcp::new(service, true)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(std::io::Error::other)?;
    server.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// `statebox serve`: MCP, API and dashboard on one HTTP listener, until a
/// signal and the drain after it.
pub async fn run_http(service: Service, options: HttpOptions) -> std::io::Result<Stopped> {
    http::run(service, options).await
}

/// `statebox report --html`: the dashboard and every release page as one
/// self-contained HTML file.
pub fn report_html(service: &Service) -> Result<String, Failure> {
    service.call_now(|access| dashboard::report(service, access))
}
