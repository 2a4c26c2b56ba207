//! The database side of the four database routes: the pool, the queries and the row mapping,
//! with deadpool-postgres over tokio-postgres as actix/examples `databases/postgres` builds them,
//! the askama template of `/fortunes`, and [`DbError`], whose `WebResponseError` makes a 503 or
//! a 500 of it. The handlers in `main.rs` call [`Db`]'s methods.
//!
//! ntex runs here on its own runtime (neon), not on tokio, and tokio-postgres' connections and
//! deadpool's timeouts need a tokio reactor. TechEmpower's ntex entry solves that with a fork of
//! tokio-postgres on ntex's I/O, which is not on crates.io; here the pool lives on a small tokio
//! runtime of its own (one thread), and each database request is a task on it that the ntex
//! handler awaits.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use contract::{Fortune, World};
use deadpool_postgres::{Config, Pool, PoolConfig, Runtime, Timeouts};
use futures_util::future::try_join_all;
use ntex::http::{Response, StatusCode};
use ntex::web::{DefaultError, HttpRequest, HttpResponse, Responder, WebResponseError};
use startup::ServerArgs;
use tokio_postgres::NoTls;

/// How long a request waits for a connection of the pool, for a new connection to open, and
/// for its queries: past it the answer is a 503, never a hang.
const TIMEOUT: Duration = Duration::from_secs(5);

const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";

/// What a database route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database URL was given (--database-url or DATABASE_URL)")]
    NoDatabase,
    #[error("no connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("query failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("the database did not answer within {TIMEOUT:?}")]
    Timeout,
    #[error("the database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the template failed: {0}")]
    Render(#[from] askama::Error),
}

impl DbError {
    /// The database cannot be reached in time (503), rather than a query failed (500).
    fn unavailable(&self) -> bool {
        match self {
            Self::NoDatabase | Self::Pool(_) | Self::Timeout => true,
            Self::Query(err) => err.is_closed(),
            Self::Task(_) | Self::Render(_) => false,
        }
    }
}

// aspect: db-error: DbError implements WebResponseError: no connection in time 503, a failed query 500
impl WebResponseError<DefaultError> for DbError {
    fn status_code(&self) -> StatusCode {
        if self.unavailable() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }

    fn error_response(&self, _: &HttpRequest) -> HttpResponse {
        if startup::log_requests() {
            eprintln!("{}: {self}", self.status_code());
        }
        let body = if self.unavailable() {
            contract::SERVICE_UNAVAILABLE
        } else {
            contract::INTERNAL_SERVER_ERROR
        };
        HttpResponse::build(self.status_code())
            .content_type(contract::TEXT_PLAIN)
            .body(body)
    }
}

/// The pool and the tokio runtime its connections run on, or none without a database URL (the
/// default). Cheap to clone: every worker's `App` holds a clone of the one `main` made.
#[derive(Debug, Clone, Default)]
pub struct Db(Option<Arc<Database>>);

#[derive(Debug)]
struct Database {
    pool: Pool,
    runtime: tokio::runtime::Runtime,
}

impl Db {
    /// The pool of `url`, which connects on first use: the server starts while the database is
    /// down. A malformed URL is an error.
    pub fn new(args: &ServerArgs) -> Result<Self, String> {
        let Some(url) = &args.database_url else {
            return Ok(Self(None));
        };
        let mut config = Config::new();
        config.url = Some(url.clone());
        config.pool = Some(PoolConfig {
            // deadpool's documented default: the logical CPUs * 2.
            max_size: args
                .pool_size
                .map_or(PoolConfig::default().max_size, NonZeroUsize::get),
            timeouts: Timeouts {
                wait: Some(TIMEOUT),
                create: Some(TIMEOUT),
                recycle: Some(TIMEOUT),
            },
            ..PoolConfig::default()
        });
        let pool = config.create_pool(Some(Runtime::Tokio1), NoTls);
        let pool = pool.map_err(|e| format!("--database-url: {e}"))?;
        // One thread: it only moves the database's bytes; the requests' work stays on ntex's
        // workers.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the database's tokio runtime: {e}"))?;
        Ok(Self(Some(Arc::new(Database { pool, runtime }))))
    }

    /// Runs `work` with the pool on the tokio runtime, within [`TIMEOUT`]: a database that stops
    /// answering is a 503, not a hang.
    async fn run<T, F>(&self, work: impl FnOnce(Pool) -> F) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, DbError>> + Send + 'static,
        T: Send + 'static,
    {
        let database = self.0.as_ref().ok_or(DbError::NoDatabase)?;
        let work = work(database.pool.clone());
        // The timeout is made inside the task, where tokio's timer is.
        let task =
            (database.runtime).spawn(async move { tokio::time::timeout(TIMEOUT, work).await });
        task.await?.unwrap_or(Err(DbError::Timeout))
    }

    /// One random row of World.
    pub async fn random_world(&self) -> Result<World, DbError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            // tokio-postgres prepares the statement once per connection; deadpool caches it.
            let statement = client.prepare_cached(SELECT_WORLD).await?;
            // aspect: query: Client::query_one of a cached prepared statement, then Row::get by column
            let row = client.query_one(&statement, &[&random_id()]).await?;
            Ok(world(&row))
        })
        .await
    }

    /// `count` random rows of World, each by its own query, all in flight at once on one
    /// connection (tokio-postgres pipelines them).
    pub async fn random_worlds(&self, count: usize) -> Result<Vec<World>, DbError> {
        self.run(move |pool| async move { random_worlds(&pool, count).await })
            .await
    }

    /// Every row of Fortune, the extra one added, sorted by message.
    pub async fn fortunes(&self) -> Result<Vec<Fortune>, DbError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            let statement = client
                .prepare_cached("SELECT id, message FROM fortune")
                .await?;
            let rows = client.query(&statement, &[]).await?;
            let mut fortunes: Vec<Fortune> = (rows.iter())
                .map(|row| Fortune {
                    id: row.get(0),
                    message: row.get(1),
                })
                .collect();
            fortunes.push(Fortune::extra());
            fortunes.sort_by(|a, b| a.message.cmp(&b.message));
            Ok(fortunes)
        })
        .await
    }

    /// `count` random rows read as [`Db::random_worlds`] does, each given a new random number
    /// and written back: one UPDATE per row, pipelined in one transaction, sorted by id so that
    /// two requests lock rows in the same order and cannot deadlock (of an id drawn twice, the
    /// last write in that order is the one stored).
    pub async fn update_worlds(&self, count: usize) -> Result<Vec<World>, DbError> {
        self.run(move |pool| async move {
            let mut worlds = random_worlds(&pool, count).await?;
            for world in &mut worlds {
                world.random_number = random_id();
            }
            worlds.sort_by_key(|world| world.id);
            let mut client = pool.get().await?;
            let transaction = client.transaction().await?;
            let statement = (transaction)
                .prepare_cached("UPDATE world SET randomnumber = $1 WHERE id = $2")
                .await?;
            let updates = (worlds.iter()).map(|w| async {
                transaction
                    .execute(&statement, &[&w.random_number, &w.id])
                    .await
            });
            try_join_all(updates).await?;
            transaction.commit().await?;
            Ok(worlds)
        })
        .await
    }
}

/// `count` random rows of World on one connection of `pool`, their queries pipelined.
async fn random_worlds(pool: &Pool, count: usize) -> Result<Vec<World>, DbError> {
    let client = pool.get().await?;
    let statement = client.prepare_cached(SELECT_WORLD).await?;
    let ids: Vec<i32> = (0..count).map(|_| random_id()).collect();
    let rows = ids
        .iter()
        .map(|id| async { client.query_one(&statement, &[id]).await });
    Ok(try_join_all(rows).await?.iter().map(world).collect())
}

/// The page of `/fortunes`: `templates/fortunes.html`, escaped as HTML by its extension.
#[derive(Debug, Template)]
#[template(path = "fortunes.html")]
pub struct FortunesPage {
    pub fortunes: Vec<Fortune>,
}

// aspect: template: askama's derived Template::render, in a Responder that the handler returns
impl Responder for FortunesPage {
    async fn respond_to(self, req: &HttpRequest) -> Response {
        match self.render() {
            Ok(page) => HttpResponse::Ok()
                .content_type(contract::TEXT_HTML)
                .body(page),
            Err(err) => DbError::Render(err).error_response(req),
        }
    }
}

/// The id of a World row, uniform in `1..=WORLD_ROWS`.
fn random_id() -> i32 {
    fastrand::i32(1..=contract::WORLD_ROWS)
}

fn world(row: &tokio_postgres::Row) -> World {
    World {
        id: row.get(0),
        random_number: row.get(1),
    }
}

/// The rows `/queries` and `/updates` answer with, from the `q` of the Query extractor's map
/// (a map never refuses a query string; a second `q` replaces the first).
pub fn query_count(params: &HashMap<String, String>) -> usize {
    contract::query_count(params.get("q").map(String::as_str))
}
