//! The hyper engine: hyper's low-level `client::conn` HTTP/1.1, one connection per worker, each
//! request built from parts made once. No pool and no connection manager: each connection's
//! I/O runs as one task of its own on the load thread's runtime (hyper's `Connection` future,
//! spawned beside the worker), and the worker sends through its `SendRequest` handle and
//! awaits the answer. http:// only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use super::{
    After, Answer, Connection, Connector, EngineOptions, Exchange, OneAtATime, connect_tcp,
    send_one_by_one,
};
use crate::stats::ErrorKind;
use crate::target::{Target, TargetError};

/// The parts of one request variant, made once.
#[derive(Debug)]
struct Template {
    method: Method,
    /// Origin form (`/path?query`), as HTTP/1.1 sends it to a server.
    uri: Uri,
    /// The target's headers plus `Host`.
    headers: HeaderMap,
    body: Bytes,
}

/// Opens plain TCP connections to the target for one load thread.
#[derive(Debug)]
pub struct HyperConnector {
    addr: SocketAddr,
    templates: Arc<[Template]>,
    connect_timeout: Duration,
}

impl HyperConnector {
    /// Resolves the target and builds every request variant once.
    pub fn new(target: &Target, options: &EngineOptions) -> Result<Self, TargetError> {
        if !target.is_plain_http() {
            return Err(TargetError::NeedsHttp("hyper", target.urls[0].to_string()));
        }
        let addr = target.socket_addr()?;
        let templates = target
            .urls
            .iter()
            .map(|url| {
                let bad = |reason: String| TargetError::BadUrl {
                    url: url.to_string(),
                    reason,
                };
                let uri: Uri = Target::origin_form(url)
                    .parse()
                    .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?;
                let host = Target::host_header(url);
                let mut headers = target.headers.clone();
                let host = HeaderValue::from_str(&host).map_err(|e| bad(e.to_string()))?;
                headers.entry(header::HOST).or_insert(host);
                Ok(Template {
                    method: target.method.clone(),
                    uri,
                    headers,
                    body: target.body.clone(),
                })
            })
            .collect::<Result<Arc<[_]>, TargetError>>()?;
        Ok(Self {
            addr,
            templates,
            connect_timeout: options.timeout,
        })
    }
}

impl Connector for HyperConnector {
    type Conn = HyperConnection;

    async fn connect(&self) -> Result<Self::Conn, ErrorKind> {
        let stream = connect_tcp(self.addr, self.connect_timeout).await?;
        // Head and body in one buffer and one `write`, rather than a `writev` of pieces.
        let (sender, driver) = http1::Builder::new()
            .writev(false)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(classify)?;
        // The connection's I/O runs as its own task beside the worker's.
        tokio::spawn(driver);
        Ok(HyperConnection {
            sender,
            templates: Arc::clone(&self.templates),
        })
    }
}

/// One HTTP/1.1 connection and the future that does its I/O.
#[derive(Debug)]
pub struct HyperConnection {
    sender: http1::SendRequest<Full<Bytes>>,
    templates: Arc<[Template]>,
}

impl Connection for HyperConnection {
    /// hyper's client sends one request at a time: a batch goes out one by one.
    async fn send(
        &mut self,
        batch: &[usize],
        answers: &mut Vec<Answer>,
    ) -> Result<After, ErrorKind> {
        send_one_by_one(self, batch, answers).await
    }
}

impl OneAtATime for HyperConnection {
    async fn exchange(&mut self, variant: usize) -> Result<Exchange, ErrorKind> {
        let template = &self.templates[variant];
        let mut request = Request::new(Full::new(template.body.clone()));
        *request.method_mut() = template.method.clone();
        *request.uri_mut() = template.uri.clone();
        *request.headers_mut() = template.headers.clone();

        let sender = &mut self.sender;
        sender.ready().await.map_err(classify)?;
        let response = sender.send_request(request).await.map_err(classify)?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut body_bytes = 0;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame.map_err(classify)?.data_ref() {
                body_bytes += data.len() as u64;
            }
        }
        Ok(Exchange { status, body_bytes })
    }
}

fn classify(err: hyper::Error) -> ErrorKind {
    if err.is_timeout() {
        ErrorKind::Timeout
    } else if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        ErrorKind::Reset
    } else {
        ErrorKind::of(&err)
    }
}
