//! The database side of server-tokio: a deadpool-postgres pool of tokio-postgres clients, the
//! queries of the four routes (statements prepared once per connection, deadpool's statement
//! cache) and the `/fortunes` template. The handlers in `main.rs` call these.

use std::num::NonZeroUsize;
use std::time::Duration;

use askama::Template;
use contract::{Fortune, World};
use deadpool_postgres::{Manager, ManagerConfig, Object, PoolConfig, RecyclingMethod, Runtime};
use futures_util::future::try_join_all;
use tokio_postgres::NoTls;

pub use deadpool_postgres::Pool;

/// How long a request waits for a free connection (deadpool's `wait` timeout; none by default).
const WAIT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long opening a connection may take, in deadpool (`create`) and in the driver.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// PostgreSQL cancels a statement that runs longer than this, so that no request hangs on it.
const STATEMENT_TIMEOUT: &str = "-c statement_timeout=5000";

const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";
const SELECT_FORTUNES: &str = "SELECT id, message FROM fortune";
const UPDATE_WORLD: &str = "UPDATE world SET randomnumber = $2 WHERE id = $1";

/// The pool for `url`. deadpool connects on demand, so building it needs no database: the
/// server starts while the database is down. `size` defaults to deadpool's documented default,
/// `PoolConfig::default().max_size`: the number of logical CPUs times 2 (deadpool 0.13; older
/// versions said times 4). A URL that cannot be parsed is an error.
pub fn pool(url: &str, size: Option<NonZeroUsize>) -> Result<Pool, Box<dyn std::error::Error>> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .options(STATEMENT_TIMEOUT);
    // Fast recycling (deadpool's default): a connection whose socket closed (the database
    // restarted) is dropped and replaced when it comes back to the pool.
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let max_size = size.map_or(PoolConfig::default().max_size, NonZeroUsize::get);
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()?)
}

/// What can go wrong: no connection in time (503), or a query that failed (500).
#[derive(Debug)]
pub enum DbError {
    /// No database configured, or no connection within the pool's timeouts.
    Unavailable(Option<deadpool_postgres::PoolError>),
    /// A query failed.
    Query(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Query(err)
    }
}

/// A connection from `pool`, within the pool's timeouts; without a pool, 503.
pub async fn connection(pool: Option<&Pool>) -> Result<Object, DbError> {
    let pool = pool.ok_or(DbError::Unavailable(None))?;
    pool.get().await.map_err(|e| DbError::Unavailable(Some(e)))
}

fn random_id() -> i32 {
    fastrand::i32(1..=contract::WORLD_ROWS)
}

/// One random row of `World`.
pub async fn random_world(client: &Object) -> Result<World, DbError> {
    let statement = client.prepare_cached(SELECT_WORLD).await?;
    let row = client.query_one(&statement, &[&random_id()]).await?;
    Ok(World {
        id: row.get(0),
        random_number: row.get(1),
    })
}

/// `count` random rows, one query each, all in flight at once: tokio-postgres pipelines the
/// queries of one client on its connection.
pub async fn random_worlds(client: &Object, count: usize) -> Result<Vec<World>, DbError> {
    try_join_all((0..count).map(|_| random_world(client))).await
}

/// Every fortune, with the one added at request time, sorted by message.
pub async fn fortunes(client: &Object) -> Result<Vec<Fortune>, DbError> {
    let statement = client.prepare_cached(SELECT_FORTUNES).await?;
    let mut fortunes: Vec<Fortune> = client
        .query(&statement, &[])
        .await?
        .iter()
        .map(|row| Fortune {
            id: row.get(0),
            message: row.get(1),
        })
        .collect();
    fortunes.push(Fortune::extra());
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    Ok(fortunes)
}

/// `count` random rows, each with a new random number, written back in one transaction, one
/// `UPDATE` per row, pipelined: sorted by id first, so that two requests lock rows in the same
/// order and cannot deadlock, and an id drawn twice is stored with the number answered last.
pub async fn update_worlds(client: &mut Object, count: usize) -> Result<Vec<World>, DbError> {
    let mut worlds = random_worlds(client, count).await?;
    for world in &mut worlds {
        world.random_number = random_id();
    }
    worlds.sort_by_key(|w| w.id);
    let transaction = client.transaction().await?;
    let update = transaction.prepare_cached(UPDATE_WORLD).await?;
    let (transaction_ref, update) = (&transaction, &update);
    try_join_all(worlds.iter().map(|w| async move {
        transaction_ref
            .execute(update, &[&w.id, &w.random_number])
            .await
    }))
    .await?;
    transaction.commit().await?;
    Ok(worlds)
}

/// The `/fortunes` page: askama compiles `templates/fortunes.html` into this type's `render`,
/// escaping every `{{ }}` for HTML (the template's extension turns escaping on).
#[derive(Debug, Template)]
#[template(path = "fortunes.html")]
pub struct FortunesPage {
    /// The rows, sorted.
    pub fortunes: Vec<Fortune>,
}
