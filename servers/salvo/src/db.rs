//! The database side of the four database routes, with sqlx as salvo's `db-postgres-sqlx`
//! example uses it: the pool, taking a connection of the pool that `affix_state` put in the
//! Depot, the queries and the row mapping. The handlers in `main.rs` call these.

use std::num::NonZeroUsize;
use std::time::Duration;

use askama::Template;
use contract::{Fortune, World};
use salvo::{Depot, Request};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, FromRow, Postgres};

use crate::Error;

/// The `/fortunes` page: askama compiles `templates/fortunes.html`, escaping HTML, into `render`.
#[derive(Template)]
#[template(path = "fortunes.html")]
pub struct FortunesPage {
    pub fortunes: Vec<Fortune>,
}

/// How long a request waits for a connection of the pool, connecting included, before it is
/// answered 503 (sqlx's own default is 30 s). sqlx keeps retrying a refused connection until then.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The pool of `url`, or `None` without a URL. `connect_lazy` checks the URL but does not
/// connect until the first request asks for a connection, so the server starts while the
/// database is down.
pub fn pool(url: Option<&str>, size: Option<NonZeroUsize>) -> Result<Option<PgPool>, sqlx::Error> {
    let Some(url) = url else { return Ok(None) };
    let mut options = PgPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    // Without --pool-size, max_connections stays PgPoolOptions::new()'s documented default: 10.
    if let Some(size) = size {
        options = options.max_connections(u32::try_from(size.get()).unwrap_or(u32::MAX));
    }
    options.connect_lazy(url).map(Some)
}

// aspect: db-error: From<sqlx::Error> for the handlers' Error: no connection in time is a 503, a failed query a 500
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(err.into())
            }
            err => Self::Internal(err.into()),
        }
    }
}

impl From<askama::Error> for Error {
    fn from(err: askama::Error) -> Self {
        Self::Internal(err.into())
    }
}

/// A connection of the pool in the Depot: no pool (no database URL), or no connection in time,
/// is our `Error`, a 503.
pub async fn connection(depot: &Depot) -> Result<PoolConnection<Postgres>, Error> {
    let no_database = |_| Error::Unavailable("no database URL was given".into());
    let pool = depot.get_typed::<PgPool>().map_err(no_database)?;
    Ok(pool.acquire().await?)
}

/// A row of World as the table names its columns (unquoted names fold to lower case).
#[derive(FromRow)]
struct WorldRow {
    id: i32,
    randomnumber: i32,
}

impl From<WorldRow> for World {
    fn from(row: WorldRow) -> Self {
        Self {
            id: row.id,
            random_number: row.randomnumber,
        }
    }
}

#[derive(FromRow)]
struct FortuneRow {
    id: i32,
    message: String,
}

/// The rows `/queries` and `/updates` answer with, from `Request::query`'s `q`.
pub fn query_count(req: &Request) -> usize {
    contract::query_count(req.query::<String>("q").as_deref())
}

/// The id of a random World row, uniform in `1..=WORLD_ROWS`.
pub fn random_id() -> i32 {
    fastrand::i32(1..=contract::WORLD_ROWS)
}

/// One random row of World. sqlx prepares the statement once per connection and caches it.
pub async fn random_world(conn: &mut PgConnection) -> Result<World, sqlx::Error> {
    // aspect: query: sqlx::query_as into a FromRow struct, fetch_one on the pool's connection
    let row: WorldRow = sqlx::query_as("SELECT id, randomnumber FROM world WHERE id = $1")
        .bind(random_id())
        .fetch_one(conn)
        .await?;
    Ok(row.into())
}

/// `n` random rows of World, each by its own query, one after another on one connection (sqlx
/// does not pipeline).
pub async fn random_worlds(conn: &mut PgConnection, n: usize) -> Result<Vec<World>, sqlx::Error> {
    let mut worlds = Vec::with_capacity(n);
    for _ in 0..n {
        worlds.push(random_world(conn).await?);
    }
    Ok(worlds)
}

/// Every row of Fortune, in the table's order.
pub async fn fortunes(conn: &mut PgConnection) -> Result<Vec<Fortune>, sqlx::Error> {
    let rows: Vec<FortuneRow> = sqlx::query_as("SELECT id, message FROM fortune")
        .fetch_all(conn)
        .await?;
    let fortunes = rows.into_iter().map(|row| Fortune {
        id: row.id,
        message: row.message,
    });
    Ok(fortunes.collect())
}

/// Writes the random numbers of `worlds` back, one UPDATE per row in one transaction. Sorted by
/// id first, so that two requests lock rows in the same order and cannot deadlock; of a row
/// drawn twice, the last one in that order is stored.
pub async fn update_worlds(
    conn: &mut PgConnection,
    worlds: &mut [World],
) -> Result<(), sqlx::Error> {
    worlds.sort_by_key(|world| world.id);
    let mut transaction = conn.begin().await?;
    for world in worlds.iter() {
        sqlx::query("UPDATE world SET randomnumber = $1 WHERE id = $2")
            .bind(world.random_number)
            .bind(world.id)
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await
}
