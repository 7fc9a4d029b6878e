//! The database: one pool of connections to MySQL/MariaDB or SQLite, chosen by the URL.
//!
//! Queries are written once against [`DbConnection`] (a diesel `MultiConnection`) except where the
//! backends must differ (the reservation's `FOR UPDATE SKIP LOCKED`). Diesel is synchronous, so
//! every database call runs on the blocking thread pool ([`Db::run`], [`Db::write`]), never on the
//! async workers.
//!
//! A unit of work that MySQL aborts to break a deadlock is run again, a few times (`retrying`):
//! with several replicas on one database such conflicts are expected.
//!
//! SQLite allows one writer at a time; the server serializes its own write transactions with a
//! process-wide mutex ([`Db::write`]) so that a transaction never has to upgrade a read lock, which
//! WAL mode refuses with `SQLITE_BUSY` whatever the busy timeout.

pub mod models;
pub mod queries;
pub mod schema;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, ConnectionError, MysqlConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::configuration::DatabaseUrl;

const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// One connection to whichever backend the server runs on.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Mysql(MysqlConnection),
    Sqlite(SqliteConnection),
}

/// Why the database could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum DbStartError {
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: ConnectionError,
    },
    #[error("cannot prepare the database at {url}: {detail}")]
    Setup { url: String, detail: String },
    #[error("cannot migrate the database at {url}: {detail}")]
    Migrate { url: String, detail: String },
    #[error("cannot create the connection pool for {url}: {detail}")]
    Pool { url: String, detail: String },
}

/// A database failure while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("the blocking thread pool is gone")]
    Canceled,
}

impl DbError {
    /// Whether the database failed for want of disk space (SQLite's `SQLITE_FULL`, "database or
    /// disk is full"; MySQL's "The table … is full" and "Disk full").
    pub fn is_storage_full(&self) -> bool {
        let DbError::Query(diesel::result::Error::DatabaseError(_, info)) = self else {
            return false;
        };
        let message = info.message();
        message.contains("disk is full")
            || message.starts_with("Disk full")
            || (message.starts_with("The table") && message.ends_with("is full"))
    }
}

/// Which backend a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Mysql,
    Sqlite,
}

/// The connection pool and what the server needs to know about its backend.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// Serializes write transactions on SQLite (unused on MySQL).
    sqlite_writer: Arc<Mutex<()>>,
}

impl Db {
    /// Connects (reporting the real error of the backend), runs the pending migrations and opens
    /// the pool. Blocking: call it from `spawn_blocking`.
    pub fn open(url: &DatabaseUrl, pool_size: u32) -> Result<Self, DbStartError> {
        let manager = Manager { url: url.clone() };
        let shown = url.redacted();
        let mut first = manager.connect().map_err(|source| DbStartError::Connect {
            url: shown.clone(),
            source,
        })?;
        let migrated = match &mut first {
            DbConnection::Mysql(c) => migrate_mysql(c),
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        };
        migrated.map_err(|e| DbStartError::Migrate {
            url: shown.clone(),
            detail: e.to_string(),
        })?;
        let backend = match first {
            DbConnection::Mysql(_) => Backend::Mysql,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        };
        drop(first);
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            // No `SELECT 1` before every use (a round trip per request); a connection that broke
            // is noticed when it fails and is then dropped by `has_broken`.
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| DbStartError::Pool {
                url: shown,
                detail: e.to_string(),
            })?;
        Ok(Db {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a pooled connection on the blocking thread pool; again if the database
    /// aborted it to break a deadlock (`retrying`), so `f` must be a read or one transaction.
    pub async fn run<T, F>(&self, mut f: F) -> Result<T, DbError>
    where
        F: FnMut(&mut DbConnection) -> Result<T, diesel::result::Error> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn: PooledConnection<Manager> = pool.get()?;
            Ok(retrying(|| f(&mut conn))?)
        })
        .await
        .map_err(|_| DbError::Canceled)?
    }

    /// Runs `f` inside a write transaction (serialized with the other writers on SQLite).
    pub async fn write<T, F>(&self, mut f: F) -> Result<T, DbError>
    where
        F: FnMut(&mut DbConnection) -> Result<T, diesel::result::Error> + Send + 'static,
        T: Send + 'static,
    {
        self.run_serialized(move |conn| conn.transaction(&mut f))
            .await
    }

    /// Runs `f` with the SQLite writer lock held (when on SQLite) and no transaction of ours
    /// around it, for code that manages its transaction on the concrete connection itself.
    pub async fn run_serialized<T, F>(&self, mut f: F) -> Result<T, DbError>
    where
        F: FnMut(&mut DbConnection) -> Result<T, diesel::result::Error> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let writer = self.sqlite_writer.clone();
        let backend = self.backend;
        tokio::task::spawn_blocking(move || {
            let mut conn: PooledConnection<Manager> = pool.get()?;
            let _serialized = match backend {
                // A poisoned lock only means another writer panicked; the database is still sane.
                Backend::Sqlite => Some(writer.lock().unwrap_or_else(|p| p.into_inner())),
                Backend::Mysql => None,
            };
            Ok(retrying(|| f(&mut conn))?)
        })
        .await
        .map_err(|_| DbError::Canceled)?
    }
}

/// Runs the pending migrations holding a named lock (one per database), so that replicas started
/// together migrate one after the other (the others then find nothing pending) instead of racing
/// to create the same tables. The lock is the connection's: it goes with it if this one dies.
fn migrate_mysql(
    conn: &mut MysqlConnection,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    const LOCK: &str = "CONCAT('pd_migrations_', MD5(DATABASE()))";
    conn.batch_execute(&format!("DO GET_LOCK({LOCK}, 300)"))?;
    let migrated = conn.run_pending_migrations(MYSQL_MIGRATIONS).map(|_| ());
    conn.batch_execute(&format!("DO RELEASE_LOCK({LOCK})"))?;
    migrated
}

/// Most attempts of one unit of work that the database keeps aborting as a deadlock victim.
const ATTEMPTS: u32 = 4;

/// Runs `attempt`, again (up to [`ATTEMPTS`] times, after a short growing pause) while MySQL
/// aborts it to break a deadlock or a serialization conflict (diesel's `SerializationFailure`,
/// MySQL error 1213). InnoDB rolls the victim's whole transaction back, so re-running a read or a
/// transaction is safe; with several replicas on one database such conflicts are routine, not
/// faults.
fn retrying<T>(mut attempt: impl FnMut() -> diesel::QueryResult<T>) -> diesel::QueryResult<T> {
    use diesel::result::{DatabaseErrorKind, Error};
    let mut tries = 1;
    loop {
        match attempt() {
            Err(Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info))
                if tries < ATTEMPTS =>
            {
                tracing::debug!(tries, error = info.message(), "deadlock; retrying");
                std::thread::sleep(Duration::from_millis(5 << tries));
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}

/// Opens connections through the concrete backend type, so a failure reports the backend's own
/// error (the `MultiConnection` derive's `establish` tries each backend in turn and keeps none of
/// their messages), and prepares each new connection.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Mysql(url) => {
                let mut conn = MysqlConnection::establish(url)?;
                // Reservations lock rows with FOR UPDATE SKIP LOCKED; READ COMMITTED keeps InnoDB
                // from adding gap locks that would make concurrent reservers wait for each other.
                conn.batch_execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Mysql(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.ping()
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Milliseconds since the Unix epoch, the unit of every time column.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn deadlock() -> Error {
        Error::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            Box::new("Deadlock found when trying to get lock".to_string()),
        )
    }

    #[test]
    fn deadlock_victims_are_retried_a_bounded_number_of_times() {
        let mut calls = 0;
        let outcome = retrying(|| {
            calls += 1;
            if calls < 3 {
                Err(deadlock())
            } else {
                Ok(calls)
            }
        });
        assert_eq!(outcome.unwrap(), 3);

        let mut calls = 0;
        let outcome: diesel::QueryResult<()> = retrying(|| {
            calls += 1;
            Err(deadlock())
        });
        assert!(outcome.is_err());
        assert_eq!(calls, ATTEMPTS);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let mut calls = 0;
        let outcome: diesel::QueryResult<()> = retrying(|| {
            calls += 1;
            Err(Error::NotFound)
        });
        assert!(matches!(outcome, Err(Error::NotFound)));
        assert_eq!(calls, 1);
    }
}
