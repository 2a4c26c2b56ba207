//! The clients that send requests, behind one interface so the measuring loop is written once.
//!
//! An engine is made once per load thread ([`Connector`]) and opens connections for that
//! thread's workers ([`Connection`]). Each runs on one thread's single-threaded runtime and is
//! shared with no other thread; the `Send` bounds are what tokio's scheduler asks of tasks.

mod hyper;
mod reqwest;

use std::time::Duration;

pub use self::hyper::HyperConnector;
pub use self::reqwest::ReqwestConnector;
use crate::stats::ErrorKind;

/// One answer, read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// The status code.
    pub status: u16,
    /// Body bytes read.
    pub body_bytes: u64,
}

/// How an engine is set up, beyond the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Connections this thread's workers hold.
    pub connections: usize,
    /// Per-request timeout (applied by the measuring loop; engines use it for connecting).
    pub timeout: Duration,
    /// HTTP/2 (reqwest only).
    pub http2: bool,
    /// Honour proxy environment variables (reqwest only).
    pub use_proxy: bool,
}

/// Opens connections for one load thread.
pub trait Connector: Send + Sync + 'static {
    /// A connection with at most one request in flight.
    type Conn: Connection;

    /// Opens a connection.
    fn connect(&self) -> impl Future<Output = Result<Self::Conn, ErrorKind>> + Send;
}

/// A connection that sends one request at a time.
pub trait Connection: Send + 'static {
    /// Sends request variant `variant` (an index into the target's URLs) and reads the whole
    /// answer. After an error the connection is dropped and a new one opened.
    fn send(&mut self, variant: usize) -> impl Future<Output = Result<Exchange, ErrorKind>> + Send;
}
