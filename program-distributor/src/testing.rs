//! Test support, for this crate's tests and the client crates' tests only (compiled with the
//! `test-support` feature): starts the real server in the current tokio runtime on a random port,
//! on one of two backends.
//!
//! - [`Backend::Embedded`]: SQLite + a local directory, inside a directory the caller owns.
//! - [`Backend::MariaDbS3`]: MariaDB + an S3-compatible server, found through the variables
//!   `TEST_MYSQL_URL` and `TEST_S3_*` that `. scripts/services.sh` exports. Each server gets a
//!   fresh database (dropped with the returned [`TestServer`]) and a fresh bucket.

use std::path::Path;

use crate::configuration::{
    DatabaseSettings, DatabaseUrl, Limits, RateSettings, S3Settings, ServerSettings, Settings,
    StorageSettings, TokenSettings,
};
use crate::startup::Application;
use crate::storage::s3::S3Store;

/// The secret the test servers sign basic tokens with.
pub const BASIC_SECRET: &str = "test-basic-token-secret";
/// The secret the test servers sign refresh tokens with.
pub const REFRESH_SECRET: &str = "test-refresh-token-secret";

/// Declares each named test once per [`Backend`], as `name::mariadb_s3` and `name::embedded`
/// (the test crates of the server and of both clients use it):
/// - `async START; names`: `async fn name(x)` gets `START(backend).await` (an app, a server);
/// - `sync START; names`: `fn name(x)` gets `START(backend)`;
/// - `backend; names`: `async fn name(backend)` starts what it needs itself.
#[macro_export]
macro_rules! both_backends {
    (async $start:expr; $($name:ident),* $(,)?) => {
        $crate::both_backends!(@tokio $(
            $name(backend) => super::$name($start(backend).await).await;
        )*);
    };
    (backend; $($name:ident),* $(,)?) => {
        $crate::both_backends!(@tokio $(
            $name(backend) => super::$name(backend).await;
        )*);
    };
    (sync $start:expr; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn mariadb_s3() {
                    super::$name($start($crate::testing::Backend::MariaDbS3));
                }

                #[test]
                fn embedded() {
                    super::$name($start($crate::testing::Backend::Embedded));
                }
            }
        )*
    };
    (@tokio $($name:ident($backend:ident) => $run:expr;)*) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mariadb_s3() {
                    let $backend = $crate::testing::Backend::MariaDbS3;
                    $run
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    let $backend = $crate::testing::Backend::Embedded;
                    $run
                }
            }
        )*
    };
}

/// Which storage pair a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// MariaDB + an S3-compatible server (started by `. scripts/services.sh`).
    MariaDbS3,
    /// The embedded default: SQLite + a local directory.
    Embedded,
}

/// The value of the environment variable `name`; panics, telling to run
/// `. scripts/services.sh`, when it is not set.
pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the MariaDB + S3 tests need the services; run \
             `. scripts/services.sh` in this shell first (it installs and starts MariaDB and an \
             S3-compatible server and exports TEST_MYSQL_URL and TEST_S3_*), then run the tests \
             again"
        )
    })
}

/// A MariaDB database created for one test server, dropped when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
}

impl TestDatabase {
    /// Creates the database `name` on the server at `server` (a URL without a database).
    /// Blocking: call it outside async code or in `spawn_blocking`.
    pub fn create(server: &str, name: &str) -> TestDatabase {
        mysql_execute(
            server,
            &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
        )
        .unwrap_or_else(|e| {
            panic!("cannot create the test database {name} on {server}: {e}; run `. scripts/services.sh`")
        });
        TestDatabase {
            server: server.into(),
            name: name.into(),
        }
    }

    /// The URL of the database.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Buckets stay in the S3 server's scratch directory. A thread of its own: this may run
        // on a runtime's worker, and the connection blocks.
        let (server, name) = (self.server.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            mysql_execute(
                &server,
                &format!("SET SESSION lock_wait_timeout = 5; DROP DATABASE IF EXISTS `{name}`"),
            )
        })
        .join();
    }
}

fn mysql_execute(server: &str, sql: &str) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut conn = diesel::MysqlConnection::establish(server).map_err(|e| e.to_string())?;
    conn.batch_execute(sql).map_err(|e| e.to_string())
}

/// Settings for a test server on `backend`, its files under `data_dir`, listening on a random
/// port of 127.0.0.1, with [`BASIC_SECRET`] and [`REFRESH_SECRET`]. For [`Backend::MariaDbS3`]
/// this creates the database and the bucket, both named after `tag` and a random suffix, and
/// returns the database to drop.
pub async fn settings(
    backend: Backend,
    tag: &str,
    data_dir: &Path,
) -> (Settings, Option<TestDatabase>) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let (url, storage, database) = match backend {
        Backend::Embedded => (
            DatabaseUrl::Sqlite(data_dir.join("db.sqlite3")),
            StorageSettings::Local(data_dir.join("objects")),
            None,
        ),
        Backend::MariaDbS3 => {
            let server = required_env("TEST_MYSQL_URL")
                .trim_end_matches('/')
                .to_string();
            let name = format!("{tag}_test_{unique}");
            let database =
                tokio::task::spawn_blocking(move || TestDatabase::create(&server, &name))
                    .await
                    .expect("create database task");
            let s3 = S3Settings {
                region: required_env("TEST_S3_REGION"),
                bucket: format!("{tag}-test-{}", &unique[..16]),
                key_id: required_env("TEST_S3_ACCESS_KEY").into(),
                key_secret: required_env("TEST_S3_SECRET_KEY").into(),
                endpoint: Some(required_env("TEST_S3_ENDPOINT")),
                force_path_style: true,
            };
            S3Store::new(&s3).create_bucket().await.unwrap_or_else(|e| {
                panic!("cannot create the test bucket ({e}); is the S3 server up? `. scripts/services.sh`")
            });
            (
                DatabaseUrl::Mysql(database.url()),
                StorageSettings::S3(s3),
                Some(database),
            )
        }
    };
    let settings = Settings {
        server: ServerSettings {
            address: "127.0.0.1".into(),
            port: 0,
            workers: Some(2),
            timeouts: Default::default(),
            max_connections: crate::configuration::DEFAULT_MAX_CONNECTIONS,
        },
        database: DatabaseSettings { url, pool_size: 8 },
        tokens: TokenSettings {
            basic_secret: BASIC_SECRET.into(),
            basic_minutes: 15,
            refresh_secret: REFRESH_SECRET.into(),
            refresh_days: 7,
        },
        storage,
        limits: Limits::default(),
        rate_limits: generous_rates(),
        storage_care: Default::default(),
        data_dir: data_dir.to_path_buf(),
    };
    (settings, database)
}

/// Rate limits far above what any test sends (tests of the limits set their own), with the
/// default password-hashing pool.
pub fn generous_rates() -> RateSettings {
    RateSettings {
        login_per_ip: 100_000,
        login_per_username: 100_000,
        register_per_ip: 100_000,
        uploads_per_ip: 100_000,
        reservations_per_ip: 100_000,
        ..RateSettings::default()
    }
}

/// A test server running in the current tokio runtime.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The settings it runs with.
    pub settings: Settings,
    /// The MariaDB database it uses, dropped with this value.
    pub database: Option<TestDatabase>,
    /// The clock its reservations run on: move it forward to expire locks without waiting.
    pub clock: std::sync::Arc<crate::startup::Clock>,
}

/// Starts the server on `backend` with its files under `data_dir`, after `tweak` adjusted the
/// [`settings`]. The server runs on the current tokio runtime until that runtime stops.
pub async fn start(
    backend: Backend,
    tag: &str,
    data_dir: &Path,
    tweak: impl FnOnce(&mut Settings),
) -> TestServer {
    let (mut settings, database) = settings(backend, tag, data_dir).await;
    tweak(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("the program distributor failed to start");
    let address = format!("http://127.0.0.1:{}", app.port());
    let clock = app.clock();
    tokio::spawn(app.run_until_stopped());
    TestServer {
        address,
        settings,
        database,
        clock,
    }
}

/// The format version an older prover wrote: one below what this build reads.
pub const OLDER_FORMAT_VERSION: u16 = cairo_stark::format::FORMAT_VERSION - 1;

/// `proof` as an older prover would have written it: the format version (the little-endian `u16`
/// right after the 8-byte magic) replaced by [`OLDER_FORMAT_VERSION`]; nothing else changes.
pub fn as_older_format_version(proof: &[u8]) -> Vec<u8> {
    let mut old = proof.to_vec();
    if let Some(version) = old.get_mut(8..10) {
        version.copy_from_slice(&OLDER_FORMAT_VERSION.to_le_bytes());
    }
    old
}
