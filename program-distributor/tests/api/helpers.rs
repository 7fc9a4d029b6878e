//! Starts the real application on a random port with a fresh database and a fresh bucket (or
//! directory), and drives it over HTTP through the shared client.

use std::path::PathBuf;

use distributor_api::{
    Client, LoginRequest, LoginResponse, PageQuery, RegisterRequest, UploadProgramData,
};
use program_distributor::configuration::{
    DatabaseSettings, DatabaseUrl, Limits, S3Settings, ServerSettings, Settings, StorageSettings,
    TokenSettings,
};
use program_distributor::startup::Application;
use program_distributor::storage::s3::S3Store;
use uuid::Uuid;

pub const BASIC_SECRET: &str = "test-basic-token-secret";
pub const REFRESH_SECRET: &str = "test-refresh-token-secret";
pub const PASSWORD: &str = "correct horse battery";

/// Which storage pair a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// MariaDB + an S3-compatible server (started by `. scripts/services.sh`).
    MariaDbS3,
    /// The embedded default: SQLite + a local directory.
    Embedded,
}

pub struct TestApp {
    pub address: String,
    /// A client without a token.
    pub client: Client,
    pub settings: Settings,
    mysql: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the MariaDB + S3 tests need the services; run \
             `. scripts/services.sh` in this shell first (it installs and starts MariaDB and an \
             S3-compatible server and exports TEST_MYSQL_URL and TEST_S3_*)"
        )
    })
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the app after `tweak` adjusted its settings.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        program_distributor::telemetry::init("debug");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_path_buf();
    let unique = Uuid::new_v4().simple().to_string();
    let (database, storage, mysql) = match backend {
        Backend::Embedded => (
            DatabaseUrl::Sqlite(data_dir.join("test.sqlite3")),
            StorageSettings::Local(data_dir.join("objects")),
            None,
        ),
        Backend::MariaDbS3 => {
            let server = required_env("TEST_MYSQL_URL")
                .trim_end_matches('/')
                .to_string();
            let name = format!("pd_test_{unique}");
            create_database(&server, &name).await;
            let s3 = S3Settings {
                region: required_env("TEST_S3_REGION"),
                bucket: format!("pdt-{}", &unique[..16]),
                key_id: required_env("TEST_S3_ACCESS_KEY"),
                key_secret: required_env("TEST_S3_SECRET_KEY"),
                endpoint: Some(required_env("TEST_S3_ENDPOINT")),
                force_path_style: true,
            };
            S3Store::new(&s3).create_bucket().await.expect(
                "cannot create the test bucket (is the S3 server up? `. scripts/services.sh`)",
            );
            (
                DatabaseUrl::Mysql(format!("{server}/{name}")),
                StorageSettings::S3(s3),
                Some((server, name)),
            )
        }
    };
    let mut settings = Settings {
        server: ServerSettings {
            address: "127.0.0.1".into(),
            port: 0,
            workers: Some(2),
        },
        database: DatabaseSettings {
            url: database,
            pool_size: 8,
        },
        tokens: TokenSettings {
            basic_secret: BASIC_SECRET.into(),
            basic_minutes: 15,
            refresh_secret: REFRESH_SECRET.into(),
            refresh_days: 7,
        },
        storage,
        limits: Limits::default(),
        data_dir,
    };
    tweak(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("the application failed to start");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let address = format!("http://127.0.0.1:{port}");
    TestApp {
        client: Client::new(address.clone()),
        address,
        settings,
        mysql,
        _dir: dir,
    }
}

async fn create_database(server: &str, name: &str) {
    let (server, name) = (server.to_string(), name.to_string());
    tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut conn = diesel::MysqlConnection::establish(&server).unwrap_or_else(|e| {
            panic!("cannot connect to MariaDB at {server}: {e}; run `. scripts/services.sh`")
        });
        conn.batch_execute(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .expect("create the test database");
    })
    .await
    .expect("create database task");
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Test databases are dropped; buckets stay in the S3 server's scratch directory.
        if let Some((server, name)) = self.mysql.take() {
            let _ = std::thread::spawn(move || {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                if let Ok(mut conn) = diesel::MysqlConnection::establish(&server) {
                    let _ = conn.batch_execute(&format!(
                        "SET SESSION lock_wait_timeout = 5; DROP DATABASE IF EXISTS `{name}`"
                    ));
                }
            })
            .join();
        }
    }
}

/// A logged-in organization.
pub struct Org {
    pub client: Client,
    pub login: LoginResponse,
    pub username: String,
    pub organization_id: Uuid,
}

impl TestApp {
    pub async fn register(&self, username: &str, name: &str) {
        self.client
            .register(&RegisterRequest {
                username: username.into(),
                password: PASSWORD.into(),
                name: name.into(),
                description: format!("{name} does research"),
            })
            .await
            .expect("register");
    }

    pub async fn login(&self, username: &str) -> LoginResponse {
        self.client
            .login(&LoginRequest {
                username: username.into(),
                password: PASSWORD.into(),
            })
            .await
            .expect("login")
    }

    /// Registers an organization called `name` and logs it in.
    pub async fn org(&self, name: &str) -> Org {
        let username = format!(
            "{}-{}",
            name.to_lowercase().replace(' ', "-"),
            &Uuid::new_v4().simple().to_string()[..6]
        );
        self.register(&username, name).await;
        let login = self.login(&username).await;
        let client = self.client.with_token(&login.basic_token.token);
        let page = self
            .client
            .organizations(&PageQuery::new(50, 1).with_name_filter(name))
            .await
            .expect("organizations");
        let organization_id = page
            .organizations
            .iter()
            .find(|o| o.name == name)
            .expect("the new organization is listed")
            .organization_id;
        Org {
            client,
            login,
            username,
            organization_id,
        }
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A tar of `(path, bytes)` regular files.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    program_distributor::domain::archive::build_tar(files).expect("tar")
}

/// The valid program tar: `double/program.json` and its Cairo source.
pub fn program_tar() -> Vec<u8> {
    tar_of(&[
        ("double/program.json", &fixture("proof_mode.json")),
        ("double/double.cairo", &fixture("double.cairo")),
    ])
}

pub fn program_data(name: &str, timeout: i64) -> UploadProgramData {
    UploadProgramData {
        name: name.into(),
        description: format!("{name}: doubles its input"),
        execution_timeout: timeout,
    }
}

/// Uploads the valid program under `name`.
pub async fn upload_program(org: &Org, name: &str, timeout: i64) -> Uuid {
    org.client
        .upload_program(program_tar(), &program_data(name, timeout))
        .await
        .expect("upload program")
}

/// Uploads an input group `[value]` named `name`.
pub async fn upload_inputs(org: &Org, program: Uuid, name: &str, value: u64) -> Uuid {
    org.client
        .upload_inputs(
            program,
            value.to_string().into_bytes(),
            &distributor_api::UploadInputsData { name: name.into() },
        )
        .await
        .expect("upload inputs")
}

/// Asserts the call failed with `code` (and the status that goes with it).
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, distributor_api::ClientError>,
    code: distributor_api::ErrorCode,
) {
    match result {
        Err(distributor_api::ClientError::Api {
            status,
            code: got,
            message,
        }) => {
            assert_eq!(got, code, "wrong code (message: {message})");
            assert_eq!(status, code.http_status(), "wrong status for {code}");
            assert!(!message.is_empty(), "empty message for {code}");
        }
        other => panic!("expected {code}, got {other:?}"),
    }
}

/// Runs each named async test `fn name(app: TestApp)` on both backends:
/// `name::mariadb_s3` and `name::embedded`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mariadb_s3() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::MariaDbS3).await;
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Embedded).await;
                    super::$name(app).await;
                }
            }
        )*
    };
}

/// A real proof (default options: the server wants 100 bits) of the fixture program
/// `proof_mode.json` run on the input CSV `csv`. Each distinct input is proven once per test
/// binary (a fraction of a second) and then served from a cache.
pub async fn proof_of(csv: &str) -> Vec<u8> {
    proof_of_program(&fixture("proof_mode.json"), csv).await
}

/// A real proof of the compiled program `program_json` run on the input CSV `csv` (cached).
pub async fn proof_of_program(program_json: &[u8], csv: &str) -> Vec<u8> {
    type Cache = std::sync::Mutex<std::collections::HashMap<(Vec<u8>, String), Vec<u8>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (program_json.to_vec(), csv.to_string());
    if let Some(proof) = cache.lock().unwrap().get(&key) {
        return proof.clone();
    }
    let (json, text) = key.clone();
    let proof = tokio::task::spawn_blocking(move || {
        let program = cairo_stark::CompiledProgram::parse(&json).expect("fixture program");
        let inputs = cairo_stark::inputs::parse_csv(text.as_bytes()).expect("fixture inputs");
        let execution = cairo_stark::execute(&program, &inputs).expect("execute");
        cairo_stark::prove(&execution, &cairo_stark::ProofOptions::default())
            .expect("prove")
            .to_bytes()
    })
    .await
    .expect("proving task");
    cache.lock().unwrap().insert(key, proof.clone());
    proof
}

/// The example program of the repository (Collatz), a second real program.
pub fn example_program_json() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../example-program/collatz.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
