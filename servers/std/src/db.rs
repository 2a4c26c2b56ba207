//! The database side of server-std: an r2d2 pool of the blocking `postgres` client
//! (r2d2_postgres), each connection with its prepared statements, the queries of the four
//! routes and the `/fortunes` template. The handlers in `main.rs` call these.
//!
//! Blocking all the way: a request that waits for a connection, or for PostgreSQL, holds its
//! connection's thread, so every wait is bounded (see [`POOL_TIMEOUT`], [`CONNECT_TIMEOUT`]).

use std::num::NonZeroUsize;
use std::time::Duration;

use askama::Template;
use contract::{Fortune, World};
use r2d2::PooledConnection;
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::{Client, Config, NoTls, Statement};

/// The pool: r2d2 hands out one `postgres::Client` at a time, blocking the asking thread.
pub type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Connection = PooledConnection<PostgresConnectionManager<NoTls>>;

/// r2d2's own default `max_size` (r2d2::Builder::new, "defaults to 10"): the pool size when
/// `--pool-size` is not given.
pub const DEFAULT_POOL_SIZE: u32 = 10;
/// How long a request waits for a free connection before it is answered 503. r2d2's default is
/// 30 s; a blocked thread per waiting request makes a short bound the safer one.
pub const POOL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long opening one connection may take (the driver's default is no limit).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// PostgreSQL cancels a statement that runs longer than this, so that a stuck query cannot hold
/// a connection, and its thread, for ever.
const STATEMENT_TIMEOUT: &str = "-c statement_timeout=5000";

/// The pool for `url`, built lazily: `build_unchecked` starts it without waiting for a
/// connection, so the server starts even when the database is down, and r2d2 keeps trying to
/// fill the pool in the background (and again after the database restarts). A URL that cannot
/// be parsed is an error.
pub fn pool(url: &str, size: Option<NonZeroUsize>) -> Result<Pool, r2d2_postgres::postgres::Error> {
    let mut config: Config = url.parse()?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .options(STATEMENT_TIMEOUT);
    let size = size.map_or(DEFAULT_POOL_SIZE, |n| {
        u32::try_from(n.get()).unwrap_or(u32::MAX)
    });
    // r2d2's defaults otherwise: every connection is tested (an empty query) when it is checked
    // out, so one that the database closed is replaced rather than handed to a request.
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(POOL_TIMEOUT)
        .build_unchecked(PostgresConnectionManager::new(config, NoTls)))
}

/// What can go wrong: no connection in time (503), or a query that failed (500).
#[derive(Debug)]
pub enum DbError {
    /// No database configured, or no connection within [`POOL_TIMEOUT`].
    Unavailable(Option<r2d2::Error>),
    /// A query failed.
    Query(r2d2_postgres::postgres::Error),
}

impl From<r2d2_postgres::postgres::Error> for DbError {
    fn from(err: r2d2_postgres::postgres::Error) -> Self {
        Self::Query(err)
    }
}

/// The statements of one connection, prepared on its first use and kept in the pooled
/// connection's r2d2 extensions for as long as the connection lives (the blocking client has no
/// statement cache of its own).
struct Statements {
    world: Statement,
    fortunes: Statement,
    update: Statement,
}

/// A connection from the pool and its prepared statements.
pub struct Db {
    conn: Connection,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// A connection from `pool`, waiting at most [`POOL_TIMEOUT`]; without a pool, 503.
    pub fn get(pool: Option<&Pool>) -> Result<Self, DbError> {
        let pool = pool.ok_or(DbError::Unavailable(None))?;
        let mut conn = pool.get().map_err(|e| DbError::Unavailable(Some(e)))?;
        if PooledConnection::extensions(&conn)
            .get::<Statements>()
            .is_none()
        {
            let client: &mut Client = &mut conn;
            let statements = Statements {
                world: client.prepare("SELECT id, randomnumber FROM world WHERE id = $1")?,
                fortunes: client.prepare("SELECT id, message FROM fortune")?,
                update: client.prepare("UPDATE world SET randomnumber = $2 WHERE id = $1")?,
            };
            PooledConnection::extensions_mut(&mut conn).insert(statements);
        }
        Ok(Self { conn })
    }

    fn statements(&self) -> &Statements {
        PooledConnection::extensions(&self.conn)
            .get::<Statements>()
            .expect("Db::get prepares the statements")
    }

    /// One random row of `World`.
    pub fn random_world(&mut self) -> Result<World, DbError> {
        let id = fastrand::i32(1..=contract::WORLD_ROWS);
        let world = self.statements().world.clone();
        let row = self.conn.query_one(&world, &[&id])?;
        Ok(World {
            id: row.get(0),
            random_number: row.get(1),
        })
    }

    /// `count` random rows, one query each, one after the other.
    pub fn random_worlds(&mut self, count: usize) -> Result<Vec<World>, DbError> {
        (0..count).map(|_| self.random_world()).collect()
    }

    /// Every fortune, with the one added at request time, sorted by message.
    pub fn fortunes(&mut self) -> Result<Vec<Fortune>, DbError> {
        let statement = self.statements().fortunes.clone();
        let mut fortunes: Vec<Fortune> = self
            .conn
            .query(&statement, &[])?
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

    /// `count` random rows, each with a new random number, written back in one transaction:
    /// sorted by id first, so that two requests lock rows in the same order and cannot
    /// deadlock, and an id drawn twice is stored with the number answered last.
    pub fn update_worlds(&mut self, count: usize) -> Result<Vec<World>, DbError> {
        let mut worlds = self.random_worlds(count)?;
        for world in &mut worlds {
            world.random_number = fastrand::i32(1..=contract::WORLD_ROWS);
        }
        worlds.sort_by_key(|w| w.id);
        let update = self.statements().update.clone();
        let mut transaction = self.conn.transaction()?;
        for world in &worlds {
            transaction.execute(&update, &[&world.id, &world.random_number])?;
        }
        transaction.commit()?;
        Ok(worlds)
    }
}

/// The `/fortunes` page: askama compiles `templates/fortunes.html` into this type's `render`,
/// escaping every `{{ }}` for HTML (the template's extension turns escaping on).
#[derive(Debug, Template)]
#[template(path = "fortunes.html")]
pub struct FortunesPage {
    /// The rows, sorted.
    pub fortunes: Vec<Fortune>,
}
