//! The reqwest engine: any URL, https included, with reqwest tuned as far as it goes for load:
//! requests built once and cloned, a connection pool sized to the workers, Nagle off, no
//! redirects, no proxy unless asked, HTTP/1.1 unless asked for HTTP/2.

use std::sync::Arc;

use super::{
    After, Answer, Connection, Connector, EngineOptions, Exchange, OneAtATime, send_one_by_one,
};
use crate::stats::ErrorKind;
use crate::target::Target;

/// One reqwest client per load thread; its pool holds the thread's connections.
#[derive(Debug)]
pub struct ReqwestConnector {
    client: reqwest::Client,
    requests: Arc<[reqwest::Request]>,
}

impl ReqwestConnector {
    /// Builds the client and every request variant once.
    pub fn new(target: &Target, options: &EngineOptions) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .pool_max_idle_per_host(options.connections)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.timeout);
        if !options.use_proxy {
            builder = builder.no_proxy();
        }
        builder = match (options.http2, target.is_plain_http()) {
            (true, true) => builder.http2_prior_knowledge(),
            // https negotiates HTTP/2 through ALPN.
            (true, false) => builder,
            (false, _) => builder.http1_only(),
        };
        let client = builder.build()?;
        let requests = target
            .urls
            .iter()
            .map(|url| {
                client
                    .request(target.method.clone(), url.clone())
                    .headers(target.headers.clone())
                    .body(target.body.clone())
                    .build()
            })
            .collect::<Result<Arc<[_]>, _>>()?;
        Ok(Self { client, requests })
    }
}

impl Connector for ReqwestConnector {
    type Conn = ReqwestConnection;

    /// reqwest connects lazily from its pool: a "connection" here is a worker's handle on it.
    async fn connect(&self) -> Result<Self::Conn, ErrorKind> {
        Ok(ReqwestConnection {
            client: self.client.clone(),
            requests: Arc::clone(&self.requests),
        })
    }
}

/// A worker's handle on the thread's client.
#[derive(Debug)]
pub struct ReqwestConnection {
    client: reqwest::Client,
    requests: Arc<[reqwest::Request]>,
}

impl Connection for ReqwestConnection {
    /// reqwest sends one request at a time: a batch goes out one by one.
    async fn send(
        &mut self,
        batch: &[usize],
        answers: &mut Vec<Answer>,
    ) -> Result<After, ErrorKind> {
        send_one_by_one(self, batch, answers).await
    }
}

impl OneAtATime for ReqwestConnection {
    async fn exchange(&mut self, variant: usize) -> Result<Exchange, ErrorKind> {
        // Bodies are `Bytes`, so cloning a prebuilt request never fails; be safe anyway.
        let request = self.requests[variant].try_clone().ok_or(ErrorKind::Other)?;
        let mut response = self.client.execute(request).await.map_err(classify)?;
        let status = response.status().as_u16();
        let mut body_bytes = 0;
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            body_bytes += chunk.len() as u64;
        }
        Ok(Exchange { status, body_bytes })
    }
}

fn classify(err: reqwest::Error) -> ErrorKind {
    if err.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::of(&err)
    }
}
