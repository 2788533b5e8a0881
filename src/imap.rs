//! Connecting to the IMAP server: TCP, TLS (implicit or STARTTLS, always verified), login.
//!
//! async-imap brings no TLS of its own; [`ImapStream`] wraps a tokio-rustls stream, or a plain one
//! for a loopback server when the config says so. Certificates are checked against the system's
//! web roots plus the configured `ca_file`, and against the host name.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_imap::{Client, Session};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{ImapConfig, Security};

/// The byte stream under an IMAP session.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type ImapSession = Session<ImapStream>;

/// A rustls client configuration trusting the web roots and `ca_file`.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("imap.ca_file: cannot read {}", path.display()))?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert =
                cert.with_context(|| format!("imap.ca_file: bad PEM in {}", path.display()))?;
            roots.add(cert).with_context(|| {
                format!("imap.ca_file: unusable certificate in {}", path.display())
            })?;
            added += 1;
        }
        if added == 0 {
            bail!("imap.ca_file: no certificate in {}", path.display());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn tls_handshake(config: &ImapConfig, tcp: TcpStream) -> Result<ImapStream> {
    let connector = TlsConnector::from(tls_config(config.ca_file.as_deref())?);
    let name = rustls::pki_types::ServerName::try_from(config.host.clone()).with_context(|| {
        format!(
            "imap.host: {:?} is not a valid TLS server name",
            config.host
        )
    })?;
    // A server that stops answering mid-handshake must not hang the watcher either.
    let stream = tokio::time::timeout(config.command_timeout(), connector.connect(name, tcp))
        .await
        .map_err(|_| anyhow::anyhow!("TLS handshake with {} timed out", config.host))?
        .with_context(|| format!("TLS handshake with {} failed", config.host))?;
    Ok(ImapStream::Tls(Box::new(stream)))
}

/// Connects, secures and logs in, each step under the command timeout.
pub async fn connect(config: &ImapConfig) -> Result<ImapSession> {
    let limit = config.command_timeout();
    let step = |what: &'static str| move |_| anyhow::anyhow!("IMAP {what} timed out");
    let addr = format!("{}:{}", config.host, config.port);
    let tcp = tokio::time::timeout(limit, TcpStream::connect(&addr))
        .await
        .map_err(step("connect"))?
        .with_context(|| format!("cannot connect to IMAP server {addr}"))?;
    tcp.set_nodelay(true).ok();
    let stream = match config.security {
        Security::Tls => tls_handshake(config, tcp).await?,
        Security::Plain => ImapStream::Plain(tcp),
        Security::Starttls => {
            let mut client = Client::new(ImapStream::Plain(tcp));
            read_greeting(&mut client, limit).await?;
            tokio::time::timeout(limit, client.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(step("STARTTLS"))?
                .context("the IMAP server refused STARTTLS; Clerk will not log in without TLS")?;
            match client.into_inner() {
                ImapStream::Plain(tcp) => {
                    let tls = tls_handshake(config, tcp).await?;
                    return login(config, Client::new(tls), limit, false).await;
                }
                ImapStream::Tls(_) => bail!("unexpected TLS stream before STARTTLS"),
            }
        }
    };
    login(config, Client::new(stream), limit, true).await
}

async fn read_greeting(client: &mut Client<ImapStream>, limit: Duration) -> Result<()> {
    tokio::time::timeout(limit, client.read_response())
        .await
        .map_err(|_| anyhow::anyhow!("IMAP greeting timed out"))?
        .context("reading the IMAP greeting")?
        .context("the IMAP server closed the connection before its greeting")?;
    Ok(())
}

async fn login(
    config: &ImapConfig,
    mut client: Client<ImapStream>,
    limit: Duration,
    greeting_pending: bool,
) -> Result<ImapSession> {
    if greeting_pending {
        read_greeting(&mut client, limit).await?;
    }
    let password = config
        .password
        .load("imap")?
        .context("imap: no password configured")?;
    let session = tokio::time::timeout(limit, client.login(&config.username, password.expose()))
        .await
        .map_err(|_| anyhow::anyhow!("IMAP login timed out"))?
        .map_err(|(err, _client)| {
            anyhow::anyhow!("IMAP login as {} failed: {err}", config.username)
        })?;
    Ok(session)
}
