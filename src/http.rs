//! The optional monitoring listener (`[http] listen`, loopback unless explicitly allowed):
//! `GET /healthz` and `GET /metrics`. Off by default.
//!
//! `/healthz` answers 200 "ok" when the store answers and every configured mailbox is watched,
//! else 503 with the reason, so a load balancer or a probe can act on it. `/metrics` is the
//! OpenMetrics text of [`crate::metrics`] with the store's outbox depth and connected mailboxes
//! read at scrape time. Served with hyper's HTTP/1 server, one task per connection, each bounded
//! by a timeout, all stopped with the daemon.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::Store;

/// How long one connection may take, so an idle or slow client cannot hold a task forever.
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

/// Binds the listener now, so a taken port fails the start rather than a background task.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("http.listen: cannot listen on {addr}"))
}

/// Serves `/healthz` and `/metrics` until cancelled.
pub async fn http_loop(
    listener: TcpListener,
    config: Arc<Config>,
    store: Store,
    cancel: CancellationToken,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving /healthz and /metrics");
    }
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
            // Reap finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "http: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let config = config.clone();
        let store = store.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let config = config.clone();
                let store = store.clone();
                async move { Ok::<_, Infallible>(respond(&request, &config, &store).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_LIMIT, connection).await {
                Ok(Err(e)) => tracing::debug!(error = %e, "http: connection failed"),
                Err(_) => tracing::debug!("http: connection timed out"),
                Ok(Ok(())) => {}
            }
        });
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

async fn respond(
    request: &Request<Incoming>,
    config: &Config,
    store: &Store,
) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            PLAIN,
            "only GET\n".to_string(),
        );
    }
    match request.uri().path() {
        "/healthz" => match health(config, store).await {
            Ok(()) => text(StatusCode::OK, PLAIN, "ok\n".to_string()),
            Err(reason) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                PLAIN,
                format!("{reason}\n"),
            ),
        },
        "/metrics" => match crate::status::collect(store).await {
            Ok(status) => {
                let connected: Vec<(String, bool)> = config
                    .mailboxes
                    .iter()
                    .map(|m| {
                        let watched = status
                            .mailboxes
                            .iter()
                            .any(|s| s.mailbox == m.name && s.connected);
                        (m.name.clone(), watched)
                    })
                    .collect();
                text(
                    StatusCode::OK,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    crate::metrics::metrics().encode(status.outbox.pending, &connected),
                )
            }
            Err(e) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                PLAIN,
                format!("the store does not answer: {e:#}\n"),
            ),
        },
        _ => text(StatusCode::NOT_FOUND, PLAIN, "not found\n".to_string()),
    }
}

/// Ok when the store answers and every configured mailbox is watched; else why not.
async fn health(config: &Config, store: &Store) -> std::result::Result<(), String> {
    let status = crate::status::collect(store)
        .await
        .map_err(|e| format!("the store does not answer: {e:#}"))?;
    let unwatched: Vec<String> = config
        .mailboxes
        .iter()
        .filter(|m| {
            !status
                .mailboxes
                .iter()
                .any(|s| s.mailbox == m.name && s.folder == m.imap.folder && s.connected)
        })
        .map(|m| {
            // The latest problem recorded for it says why, else its last connection event.
            let last = status
                .recent_problems
                .iter()
                .find(|e| e.mailbox.as_deref() == Some(m.name.as_str()))
                .map(|e| e.message.clone())
                .or_else(|| {
                    status
                        .mailboxes
                        .iter()
                        .find(|s| s.mailbox == m.name)
                        .and_then(|s| s.last_event.clone())
                })
                .unwrap_or_else(|| "never connected".into());
            format!("{} ({last})", m.name)
        })
        .collect();
    if unwatched.is_empty() {
        Ok(())
    } else {
        Err(format!("mailbox not watched: {}", unwatched.join(", ")))
    }
}
