//! The database side of the four database routes, with rocket_db_pools as Rocket's `databases`
//! example uses it: a `#[derive(Database)]` type whose `Connection<Db>` request guard takes a
//! connection of the pool before the handler runs, the pool's settings merged into Rocket's
//! figment from the command line, the queries (sqlx, as rocket_db_pools re-exports it) and the
//! row mapping. The handlers in `main.rs` call these; `Error` maps their errors.
//!
//! rocket_db_pools' own sqlx pool connects when Rocket ignites and aborts the launch if the
//! database is down, and it needs a URL. [`LazyPool`] is the same sqlx pool behind the crate's
//! `Pool` trait, which is there for pools of one's own: it connects on first use, and without a
//! URL it has no pool, so the guard answers 503 and the rest of the service works.

use std::num::NonZeroUsize;
use std::time::Duration;

use contract::{Fortune, World};
use rocket::figment::Figment;
use rocket_db_pools::sqlx::pool::PoolConnection;
use rocket_db_pools::sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use rocket_db_pools::sqlx::{self, ConnectOptions, Connection, Postgres};
use rocket_db_pools::{Database, Pool};

use crate::Error;

pub use database::Db;

mod database {
    // The derive's impls name the type by a path that the lint finds needless.
    #![allow(unused_qualifications)]

    use rocket_db_pools::Database;

    use super::LazyPool;

    // aspect: pool: #[derive(Database)]: Rocket manages the pool, and the Connection<Db> guard takes one from it
    #[derive(Debug, Database)]
    #[database("hello_world")]
    pub struct Db(LazyPool);
}

/// Rocket's settings with the database's: `--database-url` (or `DATABASE_URL`) as
/// `databases.hello_world.url`, `--pool-size` as its `max_connections`, as Rocket.toml would
/// set them. Without `--pool-size`, rocket_db_pools' documented default applies: the workers
/// times 4. Its `connect_timeout` stays at its default, 5 s.
pub fn figment(mut figment: Figment, url: Option<&str>, size: Option<NonZeroUsize>) -> Figment {
    let settings = format!("databases.{}", Db::NAME);
    if let Some(url) = url {
        figment = figment.merge((format!("{settings}.url"), url));
    }
    if let Some(size) = size {
        figment = figment.merge((format!("{settings}.max_connections"), size.get()));
    }
    figment
}

/// What taking a connection can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("no database URL was given (--database-url or DATABASE_URL)")]
    NoDatabase,
    #[error("the database settings: {0}")]
    Config(#[from] rocket::figment::Error),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// An sqlx pool that connects on first use, or none without a database URL.
#[derive(Debug)]
pub struct LazyPool(Option<PgPool>);

#[rocket::async_trait]
impl Pool for LazyPool {
    type Connection = PoolConnection<Postgres>;
    type Error = PoolError;

    /// The pool of the `databases.hello_world` settings, which rocket_db_pools' `Initializer`
    /// fairing hands over with its defaults joined in.
    async fn init(figment: &Figment) -> Result<Self, PoolError> {
        if figment.find_value("url").is_err() {
            return Ok(Self(None));
        }
        let config: rocket_db_pools::Config = figment.extract()?;
        let options: PgConnectOptions = config.url.parse()?;
        // As rocket_db_pools' own sqlx pool does, but connect_lazy_with instead of connect_with:
        // the server starts while the database is down. A request waits for a connection,
        // connecting included, for at most connect_timeout (sqlx retries a refused connection
        // until then), and is then answered 503.
        let pool = PgPoolOptions::new()
            .max_connections(u32::try_from(config.max_connections).unwrap_or(u32::MAX))
            .acquire_timeout(Duration::from_secs(config.connect_timeout))
            .idle_timeout(config.idle_timeout.map(Duration::from_secs))
            .connect_lazy_with(options.disable_statement_logging());
        Ok(Self(Some(pool)))
    }

    async fn get(&self) -> Result<Self::Connection, PoolError> {
        let pool = self.0.as_ref().ok_or(PoolError::NoDatabase);
        let connection = match pool {
            Ok(pool) => pool.acquire().await.map_err(PoolError::from),
            Err(err) => Err(err),
        };
        // The guard's error never reaches a catcher, so the cause is told here.
        if let Err(err) = &connection
            && startup::log_requests()
        {
            eprintln!("503 Service Unavailable: {err}");
        }
        connection
    }

    async fn close(&self) {
        if let Some(pool) = &self.0 {
            pool.close().await;
        }
    }
}

// aspect: db-error: no connection in time fails the Connection<Db> guard with 503; From<sqlx::Error> makes a failed query a 500
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

/// The id of a random World row, uniform in `1..=WORLD_ROWS`.
pub fn random_id() -> i32 {
    fastrand::i32(1..=contract::WORLD_ROWS)
}

/// One random row of World. sqlx prepares the statement once per connection and caches it.
pub async fn random_world(conn: &mut PgConnection) -> Result<World, sqlx::Error> {
    // aspect: query: sqlx::query_as into a tuple, fetch_one on the guard's connection (&mut **db)
    let (id, random_number): (i32, i32) =
        sqlx::query_as("SELECT id, randomnumber FROM world WHERE id = $1")
            .bind(random_id())
            .fetch_one(conn)
            .await?;
    Ok(World { id, random_number })
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
    let rows: Vec<(i32, String)> = sqlx::query_as("SELECT id, message FROM fortune")
        .fetch_all(conn)
        .await?;
    let fortunes = rows
        .into_iter()
        .map(|(id, message)| Fortune { id, message });
    Ok(fortunes.collect())
}

/// `n` random rows read as [`random_worlds`] does, each given a new random number and written
/// back, one UPDATE per row in one transaction. Sorted by id first, so that two requests lock
/// rows in the same order and cannot deadlock; of a row drawn twice, the last one in that order
/// is stored.
pub async fn update_worlds(conn: &mut PgConnection, n: usize) -> Result<Vec<World>, sqlx::Error> {
    let mut worlds = random_worlds(conn, n).await?;
    for world in &mut worlds {
        world.random_number = random_id();
    }
    worlds.sort_by_key(|world| world.id);
    let mut transaction = conn.begin().await?;
    for world in worlds.iter() {
        sqlx::query("UPDATE world SET randomnumber = $1 WHERE id = $2")
            .bind(world.random_number)
            .bind(world.id)
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(worlds)
}
