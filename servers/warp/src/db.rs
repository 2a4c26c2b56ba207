//! The database side of the four database routes: deadpool-postgres's pool over tokio-postgres,
//! the filter that hands the pool to the handlers as warp's `todos` example hands its store
//! (`warp::any().map(move || db.clone())`), the queries and the row mapping, the askama template
//! of `/fortunes`, and [`DbError`], a `Reply` of its own: a 503 or a 500. The handlers in
//! `main.rs` call [`Db`]'s methods.

use std::collections::HashMap;
use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::time::Duration;

use askama::Template;
use contract::{Fortune, World};
use deadpool_postgres::{Config, Pool, PoolConfig, Runtime, Timeouts};
use futures_util::future::try_join_all;
use startup::ServerArgs;
use tokio_postgres::NoTls;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// How long a request waits for a connection of the pool, for a new connection to open, and
/// for its queries: past it the answer is a 503, never a hang.
const TIMEOUT: Duration = Duration::from_secs(5);

const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";

/// What a database route can fail with.
#[derive(Debug)]
pub enum DbError {
    /// No `--database-url` and no `DATABASE_URL`.
    NoDatabase,
    /// No connection of the pool in time, or none could be opened.
    Pool(deadpool_postgres::PoolError),
    /// A query failed.
    Query(tokio_postgres::Error),
    /// The database did not answer within [`TIMEOUT`].
    Timeout,
    /// The template failed.
    Render(askama::Error),
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        Self::Pool(err)
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Query(err)
    }
}

impl From<askama::Error> for DbError {
    fn from(err: askama::Error) -> Self {
        Self::Render(err)
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoDatabase => write!(f, "no database URL was given"),
            Self::Pool(err) => write!(f, "no connection: {err}"),
            Self::Query(err) => write!(f, "query failed: {err}"),
            Self::Timeout => write!(f, "the database did not answer within {TIMEOUT:?}"),
            Self::Render(err) => write!(f, "the template failed: {err}"),
        }
    }
}

impl DbError {
    /// The database cannot be reached in time (503), rather than a query failed (500).
    fn unavailable(&self) -> bool {
        match self {
            Self::NoDatabase | Self::Pool(_) | Self::Timeout => true,
            Self::Query(err) => err.is_closed(),
            Self::Render(_) => false,
        }
    }
}

/// A handler's `Result<_, DbError>` is a reply itself (warp implements `Reply` for a `Result` of
/// two replies), so a database error is an answer, not a rejection that `or()` would pass on.
// aspect: db-error: impl Reply for DbError: no connection in time is a 503, a failed query a 500
impl Reply for DbError {
    fn into_response(self) -> Response {
        let (status, body) = if self.unavailable() {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                contract::SERVICE_UNAVAILABLE,
            )
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                contract::INTERNAL_SERVER_ERROR,
            )
        };
        if startup::log_requests() {
            eprintln!("{status}: {self}");
        }
        crate::serve::text(status, body)
    }
}

/// The pool, or none without a database URL. A clone shares the pool.
#[derive(Debug, Clone, Default)]
pub struct Db {
    pool: Option<Pool>,
}

/// A filter that hands every request a clone of `db` (a clone of the pool's `Arc`).
// aspect: pool: warp::any().map(move || db.clone()): a filter that hands each handler the pool
pub fn with_db(db: &Db) -> impl Filter<Extract = (Db,), Error = Infallible> + Clone + use<> {
    let db = db.clone();
    warp::any().map(move || db.clone())
}

/// A filter that extracts how many rows `/queries` and `/updates` answer with, from the `q` of
/// the query string (a map never refuses one; a second `q` replaces the first).
pub fn query_count() -> impl Filter<Extract = (usize,), Error = Rejection> + Copy {
    warp::query::<HashMap<String, String>>().map(|params: HashMap<String, String>| {
        contract::query_count(params.get("q").map(String::as_str))
    })
}

impl Db {
    /// The pool of `url`, or none without one. It connects on first use: the server starts
    /// while the database is down. A malformed URL is an error.
    pub fn new(args: &ServerArgs) -> Result<Self, String> {
        let Some(url) = &args.database_url else {
            return Ok(Self { pool: None });
        };
        let mut config = Config::new();
        config.url = Some(url.clone());
        config.pool = Some(PoolConfig {
            // deadpool's documented default: the number of CPUs * 4.
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
        // Runtime::Tokio1: warp runs on tokio, and deadpool needs it for the timeouts.
        let pool = config.create_pool(Some(Runtime::Tokio1), NoTls);
        let pool = pool.map_err(|e| format!("--database-url: {e}"))?;
        Ok(Self { pool: Some(pool) })
    }

    fn pool(&self) -> Result<&Pool, DbError> {
        self.pool.as_ref().ok_or(DbError::NoDatabase)
    }

    /// One random row of World.
    pub async fn random_world(&self) -> Result<World, DbError> {
        within_timeout(async {
            let client = self.pool()?.get().await?;
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
        within_timeout(async {
            let client = self.pool()?.get().await?;
            let statement = client.prepare_cached(SELECT_WORLD).await?;
            let ids: Vec<i32> = (0..count).map(|_| random_id()).collect();
            let rows = ids
                .iter()
                .map(|id| async { client.query_one(&statement, &[id]).await });
            Ok(try_join_all(rows).await?.iter().map(world).collect())
        })
        .await
    }

    /// The `/fortunes` page: every row of Fortune, the extra one added, sorted by message, through
    /// the template.
    pub async fn fortunes_page(&self) -> Result<String, DbError> {
        within_timeout(async {
            let client = self.pool()?.get().await?;
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
            // aspect: template: askama's derived Template::render; the handler answers reply::html
            Ok(FortunesPage { fortunes }.render()?)
        })
        .await
    }

    /// `count` random rows read as [`Db::random_worlds`] does, each given a new random number
    /// and written back: one UPDATE per row, pipelined in one transaction, sorted by id so that
    /// two requests lock rows in the same order and cannot deadlock (of an id drawn twice, the
    /// last write in that order is the one stored).
    pub async fn update_worlds(&self, count: usize) -> Result<Vec<World>, DbError> {
        let mut worlds = self.random_worlds(count).await?;
        for world in &mut worlds {
            world.random_number = random_id();
        }
        worlds.sort_by_key(|world| world.id);
        within_timeout(async {
            let mut client = self.pool()?.get().await?;
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
            Ok(())
        })
        .await?;
        Ok(worlds)
    }
}

/// The page of `/fortunes`: `templates/fortunes.html`, escaped as HTML by its extension.
#[derive(Debug, Template)]
#[template(path = "fortunes.html")]
pub struct FortunesPage {
    fortunes: Vec<Fortune>,
}

/// Runs `work` within [`TIMEOUT`]: a database that stops answering is a 503, not a hang.
async fn within_timeout<T>(work: impl Future<Output = Result<T, DbError>>) -> Result<T, DbError> {
    tokio::time::timeout(TIMEOUT, work)
        .await
        .unwrap_or(Err(DbError::Timeout))
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
