//! The database side of server-may-minihttp: an r2d2 pool of the blocking `postgres` client
//! (r2d2_postgres), each connection with its prepared statements, the threads that run the
//! queries ([`Database`]), the queries of the four routes and the `/fortunes` template. The
//! handlers in `main.rs` call these.
//!
//! may_minihttp's TechEmpower entry uses may_postgres, a port of tokio-postgres onto may's
//! coroutines; it is not on crates.io (a git dependency only), so it cannot be built here. The
//! blocking client is the next best, but a blocking call made on a may worker would block the
//! worker thread (not only the coroutine), and every other connection of that worker with it:
//! a pool exhausted by slow queries would stop `/json` too. So the blocking calls run on threads
//! of their own, one per pooled connection, and the handler's coroutine waits for the answer on
//! a may channel, which parks the coroutine only. A known deviation, in the README.

use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use askama::Template;
use contract::{Fortune, World};
use may::sync::{mpmc, mpsc};
use r2d2::PooledConnection;
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::{Client, Config, NoTls, Statement};

/// The pool: r2d2 hands out one `postgres::Client` at a time, blocking the asking thread.
pub type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Connection = PooledConnection<PostgresConnectionManager<NoTls>>;

/// How long a request waits for a free connection (in the queue of the database threads, then in
/// r2d2's pool) before it is answered 503. r2d2's default is 30 s; the other servers wait 3 s.
pub const POOL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long opening one connection may take (the driver's default is no limit).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// PostgreSQL cancels a statement that runs longer than this, so that a stuck query cannot hold
/// a connection, and its thread, for ever.
const STATEMENT_TIMEOUT: &str = "-c statement_timeout=5000";

/// The pool for `url`, built lazily: `build_unchecked` starts it without waiting for a
/// connection, so the server starts even when the database is down, and r2d2 keeps trying to
/// fill the pool in the background (and again after the database restarts). A URL that cannot
/// be parsed is an error. `size` defaults to `workers`, may's worker threads: the TechEmpower
/// entry opens one connection per worker (`PgConnectionPool::new(url, num_cpus::get())`, one
/// worker per CPU), and a worker blocked on the database can use no second connection anyway.
pub fn pool(
    url: &str,
    size: Option<NonZeroUsize>,
    workers: usize,
) -> Result<Pool, r2d2_postgres::postgres::Error> {
    let mut config: Config = url.parse()?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .options(STATEMENT_TIMEOUT);
    let size = size.map_or(workers, NonZeroUsize::get);
    let size = u32::try_from(size).unwrap_or(u32::MAX);
    // r2d2's defaults otherwise: every connection is tested (an empty query) when it is checked
    // out, so one that the database closed is replaced rather than handed to a request.
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(POOL_TIMEOUT)
        .build_unchecked(PostgresConnectionManager::new(config, NoTls)))
}

/// The database of `--database-url` (or `DATABASE_URL`), `None` without one (the database routes
/// then answer 503); an invalid URL ends the process with a clear message.
pub fn from_args(args: &startup::ServerArgs) -> Option<Database> {
    let url = args.database_url.as_deref()?;
    let pool = pool(url, args.pool_size, args.threads()).unwrap_or_else(|err| {
        eprintln!("server-may-minihttp: invalid --database-url: {err}");
        std::process::exit(2);
    });
    Some(Database::start(pool))
}

/// One request's database work, run on a database thread with the pool.
type Job = Box<dyn FnOnce(&Pool) + Send>;

/// The pool behind threads of its own, one per connection the pool may open: the handlers hand
/// their work to these threads and wait for the answer without blocking a may worker.
#[derive(Debug, Clone)]
pub struct Database {
    jobs: mpmc::Sender<Job>,
}

impl Database {
    /// Starts one thread per connection of `pool`. They end when the last `Database` is dropped.
    pub fn start(pool: Pool) -> Self {
        let (jobs, queue) = mpmc::channel::<Job>();
        for n in 0..pool.max_size() {
            let (queue, pool) = (queue.clone(), pool.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("database-{n}"))
                .spawn(move || {
                    while let Ok(job) = queue.recv() {
                        // A job that panics drops its reply channel (the request gets 503);
                        // the thread lives on for the next one.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&pool)));
                    }
                });
            if let Err(err) = spawned {
                eprintln!("server-may-minihttp: cannot start a database thread: {err}");
                std::process::exit(1);
            }
        }
        Self { jobs }
    }

    /// Runs `work` on a pooled connection on a database thread; the calling coroutine waits on a
    /// may channel, which parks the coroutine and leaves its worker free. Without a database,
    /// or after [`POOL_TIMEOUT`] in the queue, 503.
    pub fn run<T: Send + 'static>(
        database: Option<&Self>,
        work: impl FnOnce(&mut Db) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let database = database.ok_or(DbError::Unavailable(None))?;
        let (reply, answer) = mpsc::channel();
        let queued = Instant::now();
        let job: Job = Box::new(move |pool| {
            let result = match queued.elapsed() > POOL_TIMEOUT {
                true => Err(DbError::Unavailable(None)),
                false => Db::get(pool).and_then(|mut db| work(&mut db)),
            };
            let _ = reply.send(result);
        });
        database
            .jobs
            .send(job)
            .map_err(|_| DbError::Unavailable(None))?;
        answer.recv().unwrap_or(Err(DbError::Unavailable(None)))
    }
}

/// What can go wrong: no connection in time (503), or a query that failed (500).
#[derive(Debug)]
pub enum DbError {
    /// No database configured, no connection within [`POOL_TIMEOUT`], or a database thread
    /// that failed.
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
    /// A connection from `pool`, waiting at most [`POOL_TIMEOUT`].
    fn get(pool: &Pool) -> Result<Self, DbError> {
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
