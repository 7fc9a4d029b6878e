//! Builds the application from [`Settings`]: database, object storage, the HTTP server bound to
//! its listener. `main` and the tests start the server the same way.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use distributor_api::ErrorCode;
use tracing_actix_web::TracingLogger;

use crate::auth::TokenKeys;
use crate::body_deadline::BodyTimeout;
use crate::configuration::{ServerSettings, Settings, StorageSettings};
use crate::db::{Db, DbStartError};
use crate::error::{envelope_errors, extractor_error};
pub use crate::state::{AppState, Clock, ProgramCache};
use crate::storage::local::LocalStore;
use crate::storage::s3::S3Store;
use crate::storage::{ObjectStore, StorageError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbStartError),
    #[error("object storage ({what}) is not usable: {source}")]
    Storage {
        what: String,
        #[source]
        source: StorageError,
    },
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Task(String),
}

/// A running (not yet awaited) server and the port it listens on.
pub struct Application {
    port: u16,
    server: Server,
    clock: Arc<Clock>,
}

impl Application {
    /// Opens the database (running migrations), the object storage, and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let state = build_state(&settings).await?;
        crate::sweeper::spawn(state.clone(), settings.storage_care);
        let address = format!("{}:{}", settings.server.address, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        let clock = state.clock.clone();
        let server = run(listener, state, &settings.server)?;
        Ok(Application {
            port,
            server,
            clock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The clock reservations run on (tests move it forward to expire locks without waiting).
    pub fn clock(&self) -> Arc<Clock> {
        self.clock.clone()
    }

    /// Serves until the server is stopped (Ctrl-C / SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Connects everything the handlers need.
pub async fn build_state(settings: &Settings) -> Result<web::Data<AppState>, StartupError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartupError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    if let crate::configuration::DatabaseUrl::Sqlite(path) = &settings.database.url {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StartupError::DataDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
    }
    let database = settings.database.clone();
    let db = tokio::task::spawn_blocking(move || Db::open(&database.url, database.pool_size))
        .await
        .map_err(|e| StartupError::Task(e.to_string()))??;
    tracing::info!(database = %settings.database.url.redacted(), "database ready");

    let storage: Arc<dyn ObjectStore> = match &settings.storage {
        StorageSettings::Local(dir) => Arc::new(
            LocalStore::open(dir)
                .map_err(|source| StartupError::Storage {
                    what: format!("local directory {}", dir.display()),
                    source,
                })?
                .with_reserve(settings.storage_care.reserve_bytes),
        ),
        StorageSettings::S3(s3) => Arc::new(S3Store::new(s3)),
    };
    storage
        .check()
        .await
        .map_err(|source| StartupError::Storage {
            what: storage.describe(),
            source,
        })?;
    tracing::info!(storage = %storage.describe(), "object storage ready");

    let decoy_hash = tokio::task::spawn_blocking(|| {
        crate::auth::hash_password(&uuid::Uuid::new_v4().to_string())
    })
    .await
    .map_err(|e| StartupError::Task(e.to_string()))?
    .map_err(|e| StartupError::Task(e.message))?;

    Ok(web::Data::new(AppState {
        db,
        storage,
        tokens: TokenKeys::new(&settings.tokens),
        limits: settings.limits,
        rates: crate::rate_limit::RateLimits::new(&settings.rate_limits),
        metrics: crate::metrics::Metrics::default(),
        programs: ProgramCache::default(),
        clock: Arc::default(),
        template: crate::template::tar()
            .map_err(|e| StartupError::Task(format!("cannot build the template tar: {e}")))?,
        decoy_hash,
    }))
}

fn run(
    listener: TcpListener,
    state: web::Data<AppState>,
    settings: &ServerSettings,
) -> Result<Server, StartupError> {
    let json_limit = state.limits.json_bytes;
    let timeouts = settings.timeouts;
    let body_timeout = web::Data::new(BodyTimeout(timeouts.request_body));
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(crate::body_deadline::enforce))
            .wrap(ErrorHandlers::new().default_handler(envelope_errors))
            .wrap(TracingLogger::default())
            .wrap(from_fn(crate::metrics::record))
            .app_data(state.clone())
            .app_data(body_timeout.clone())
            .app_data(json_config(json_limit))
            .app_data(query_config())
            .app_data(path_config())
            .configure(crate::routes::configure)
    })
    .client_request_timeout(timeouts.request_head)
    .client_disconnect_timeout(timeouts.disconnect)
    .keep_alive(timeouts.keep_alive)
    .shutdown_timeout(timeouts.shutdown.as_secs())
    .max_connections(settings.max_connections);
    if let Some(workers) = settings.workers {
        server = server.workers(workers.max(1));
    }
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    Ok(server
        .listen(listener)
        .map_err(|source| StartupError::Bind { address, source })?
        .run())
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _req| {
            use actix_web::error::JsonPayloadError;
            let (code, message) = match &error {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => {
                    (ErrorCode::PayloadTooLarge, error.to_string())
                }
                JsonPayloadError::ContentType => (
                    ErrorCode::InvalidRequest,
                    "the body must be JSON (Content-Type: application/json)".to_string(),
                ),
                JsonPayloadError::Deserialize(e) => {
                    (ErrorCode::InvalidRequest, format!("invalid JSON body: {e}"))
                }
                _ => (
                    ErrorCode::InvalidRequest,
                    format!("unreadable body: {error}"),
                ),
            };
            extractor_error(code, message)
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _req| {
        extractor_error(
            ErrorCode::InvalidRequest,
            format!("invalid query parameters: {error}"),
        )
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _req| {
        extractor_error(ErrorCode::InvalidRequest, format!("invalid path: {error}"))
    })
}
