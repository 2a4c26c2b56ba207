//! The clients that send requests, behind one interface so the measuring loop is written once.
//!
//! An engine is made once per load thread ([`Connector`]) and opens connections for that
//! thread's workers ([`Connection`]). Each runs on one thread's single-threaded runtime and is
//! shared with no other thread; the `Send` bounds are what tokio's scheduler asks of tasks.
//!
//! A connection takes a *batch* of requests at a time: one request unless the run pipelines,
//! then up to `--pipeline` requests written together, whose answers come back in order.

mod h1;
mod hyper;
mod reqwest;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

pub use self::h1::H1Connector;
pub use self::hyper::HyperConnector;
pub use self::reqwest::ReqwestConnector;
use crate::stats::ErrorKind;

/// Which client does the requests.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// reqwest: any URL, https included; the general-purpose engine.
    Reqwest,
    /// hyper's `client::conn` HTTP/1.1, one connection per worker, the request built once:
    /// http:// only.
    Hyper,
    /// Our own HTTP/1.1 client on raw sockets: every request serialized once, answers framed
    /// with httparse, pipelining: http:// only, made to saturate local servers.
    H1,
}

impl EngineKind {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reqwest => "reqwest",
            Self::Hyper => "hyper",
            Self::H1 => "h1",
        }
    }

    /// Whether the engine can have more than one request in flight on a connection.
    pub fn pipelines(self) -> bool {
        matches!(self, Self::H1)
    }
}

/// One answer, read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// The status code.
    pub status: u16,
    /// Body bytes read.
    pub body_bytes: u64,
}

/// One answer of a batch and when it was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// What came back.
    pub exchange: Exchange,
    /// When its last byte was read.
    pub done: Instant,
}

/// Whether a connection can take more requests after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// It stays open.
    Open,
    /// The server announced a close (`Connection: close`): the requests of the batch that got
    /// no answer were never handled and go again on a new connection.
    Closed,
}

/// How an engine is set up, beyond the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Connections this thread's workers hold.
    pub connections: usize,
    /// Requests written together per connection (1: no pipelining).
    pub pipeline: usize,
    /// Per-request timeout (applied by the measuring loop; engines use it for connecting).
    pub timeout: Duration,
    /// HTTP/2 (reqwest only).
    pub http2: bool,
    /// Honour proxy environment variables (reqwest only).
    pub use_proxy: bool,
}

/// Opens connections for one load thread.
pub trait Connector: Send + Sync + 'static {
    /// A connection.
    type Conn: Connection;

    /// Opens a connection.
    fn connect(&self) -> impl Future<Output = Result<Self::Conn, ErrorKind>> + Send;
}

/// A connection that sends batches of requests.
pub trait Connection: Send + 'static {
    /// Sends the requests of `batch` (indexes into the target's URLs), written together, and
    /// reads their answers in order into `answers` (cleared first). On an error, `answers`
    /// holds those that came before it and the rest of the batch failed with it; the
    /// connection is then dropped and a new one opened.
    fn send(
        &mut self,
        batch: &[usize],
        answers: &mut Vec<Answer>,
    ) -> impl Future<Output = Result<After, ErrorKind>> + Send;
}

/// An engine's connection that has one request in flight at a time (hyper, reqwest).
trait OneAtATime {
    /// Sends request variant `variant` and reads its answer to the end.
    fn exchange(
        &mut self,
        variant: usize,
    ) -> impl Future<Output = Result<Exchange, ErrorKind>> + Send;
}

/// The `send` of an engine that cannot pipeline: the requests of `batch` one after another.
async fn send_one_by_one(
    connection: &mut impl OneAtATime,
    batch: &[usize],
    answers: &mut Vec<Answer>,
) -> Result<After, ErrorKind> {
    answers.clear();
    for &variant in batch {
        let exchange = connection.exchange(variant).await?;
        let done = Instant::now();
        answers.push(Answer { exchange, done });
    }
    Ok(After::Open)
}

/// Opens a TCP connection to `addr` within `timeout`, Nagle off: requests are small, so each
/// goes at once rather than waiting for the previous one's ACK.
async fn connect_tcp(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, ErrorKind> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| ErrorKind::Timeout)?
        .map_err(|e| ErrorKind::of_io(&e))?;
    stream.set_nodelay(true).map_err(|e| ErrorKind::of_io(&e))?;
    Ok(stream)
}
