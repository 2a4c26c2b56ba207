//! The database side of server-hyper: a deadpool-postgres pool of tokio-postgres clients (the
//! pair TechEmpower's hyper entry uses), the queries of the four routes with statements prepared
//! once per connection, the askama page of `/fortunes`, and [`DbError`], which `serve.rs` turns
//! into a 503 or a 500. The handlers in `main.rs` call [`Db`]'s methods; `main` puts the `Db` in
//! an `Arc` that every connection's `service_fn` shares.

use std::num::NonZeroUsize;
use std::time::Duration;

use askama::Template;
use contract::{Fortune, World};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolConfig, RecyclingMethod, Runtime};
use futures_util::future::try_join_all;
use startup::ServerArgs;
use tokio_postgres::NoTls;

/// How long a request waits for a free connection (deadpool's `wait`; none by default), and how
/// long opening a connection may take (deadpool's `create` and the driver's connect timeout).
const POOL_TIMEOUT: Duration = Duration::from_secs(3);
/// The most a route's database work may take, connection included: a database that stops
/// answering mid-query (stopped, not closed) is a 503 after this, not a hang.
const ROUTE_TIMEOUT: Duration = Duration::from_secs(5);

const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";
const SELECT_FORTUNES: &str = "SELECT id, message FROM fortune";
const UPDATE_WORLD: &str = "UPDATE world SET randomnumber = $2 WHERE id = $1";

/// What a database route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database URL was given (--database-url or DATABASE_URL)")]
    NoDatabase,
    #[error("no connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("query failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("the database did not answer within {ROUTE_TIMEOUT:?}")]
    Timeout,
}

impl DbError {
    /// The database cannot be reached in time (503), rather than a query failed (500).
    pub fn unavailable(&self) -> bool {
        match self {
            Self::NoDatabase | Self::Pool(_) | Self::Timeout => true,
            Self::Query(err) => err.is_closed(),
        }
    }
}

/// The service's database: the pool, or none without a database URL (the default).
#[derive(Debug, Default)]
pub struct Db {
    pool: Option<Pool>,
}

impl Db {
    /// The pool of `--database-url`. deadpool connects on first use, so the server starts while
    /// the database is down. `--pool-size` defaults to deadpool's documented default,
    /// `PoolConfig::default().max_size`: the CPUs this process may run on times 2 (deadpool 0.13),
    /// which is also what TechEmpower's hyper entry runs with. A URL that cannot be parsed is an
    /// error.
    pub fn new(args: &ServerArgs) -> Result<Self, Box<dyn std::error::Error>> {
        let Some(url) = &args.database_url else {
            return Ok(Self::default());
        };
        let mut config: tokio_postgres::Config = url.parse()?;
        config.connect_timeout(POOL_TIMEOUT);
        // Fast recycling (deadpool's default): a connection whose socket closed (the database
        // restarted) is dropped and replaced when it comes back to the pool.
        let recycling_method = RecyclingMethod::Fast;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method });
        let max_size = (args.pool_size).map_or(PoolConfig::default().max_size, NonZeroUsize::get);
        let pool = Pool::builder(manager)
            .max_size(max_size)
            // deadpool needs the runtime to apply the timeouts.
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()?;
        Ok(Self { pool: Some(pool) })
    }

    /// A connection of the pool, within its timeouts; without a pool, [`DbError::NoDatabase`].
    async fn connection(&self) -> Result<deadpool_postgres::Object, DbError> {
        let pool = self.pool.as_ref().ok_or(DbError::NoDatabase)?;
        Ok(pool.get().await?)
    }

    /// One random row of World.
    pub async fn random_world(&self) -> Result<World, DbError> {
        within_timeout(async {
            let client = self.connection().await?;
            random_world(&client).await
        })
        .await
    }

    /// `count` random rows of World, each by its own query, all in flight at once on one
    /// connection (tokio-postgres pipelines the queries of one client).
    pub async fn random_worlds(&self, count: usize) -> Result<Vec<World>, DbError> {
        within_timeout(async {
            let client = self.connection().await?;
            try_join_all((0..count).map(|_| random_world(&client))).await
        })
        .await
    }

    /// Every row of Fortune, the extra one added, sorted by message.
    pub async fn fortunes(&self) -> Result<Vec<Fortune>, DbError> {
        within_timeout(async {
            let client = self.connection().await?;
            let statement = client.prepare_cached(SELECT_FORTUNES).await?;
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
    /// and written back: one UPDATE per row, pipelined in one transaction, sorted by id first so
    /// that two requests lock rows in the same order and cannot deadlock (of an id drawn twice,
    /// the last write in that order is the one stored, and the one answered last).
    pub async fn update_worlds(&self, count: usize) -> Result<Vec<World>, DbError> {
        within_timeout(async {
            let mut client = self.connection().await?;
            let mut worlds = try_join_all((0..count).map(|_| random_world(&client))).await?;
            for world in &mut worlds {
                world.random_number = random_id();
            }
            worlds.sort_by_key(|world| world.id);
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
        })
        .await
    }
}

/// One random row of World on `client`.
async fn random_world(client: &deadpool_postgres::Object) -> Result<World, DbError> {
    // tokio-postgres prepares the statement once per connection; deadpool caches it.
    let statement = client.prepare_cached(SELECT_WORLD).await?;
    // aspect: query: Client::query_one of a statement deadpool caches per connection, Row::get by column
    let row = client.query_one(&statement, &[&random_id()]).await?;
    Ok(World {
        id: row.get(0),
        random_number: row.get(1),
    })
}

/// Runs `work` within [`ROUTE_TIMEOUT`]: a database that stops answering is a 503, not a hang.
async fn within_timeout<T>(work: impl Future<Output = Result<T, DbError>>) -> Result<T, DbError> {
    tokio::time::timeout(ROUTE_TIMEOUT, work)
        .await
        .unwrap_or(Err(DbError::Timeout))
}

/// The id of a World row, uniform in `1..=WORLD_ROWS`.
fn random_id() -> i32 {
    fastrand::i32(1..=contract::WORLD_ROWS)
}

/// The page of `/fortunes`: askama compiles `templates/fortunes.html` into this type's `render`,
/// escaping every `{{ }}` for HTML (the template's extension turns escaping on).
#[derive(Debug, Template)]
#[template(path = "fortunes.html")]
pub struct FortunesPage {
    /// The rows, sorted.
    pub fortunes: Vec<Fortune>,
}
