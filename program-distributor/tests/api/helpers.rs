//! Starts the real application on a random port with a fresh database and a fresh bucket (or
//! directory), and drives it over HTTP through the shared client.

use std::path::PathBuf;

use distributor_api::{
    Client, LoginRequest, LoginResponse, PageQuery, RegisterRequest, UploadProgramData,
    UploadProofData,
};
use program_distributor::configuration::{Settings, StorageSettings};
use program_distributor::db::models::InputGroupRow;
use program_distributor::db::queries::input_groups;
use program_distributor::storage::ObjectStore;
use program_distributor::testing::{self, TestDatabase};
pub use program_distributor::testing::{Backend, BASIC_SECRET, REFRESH_SECRET};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    /// A client without a token.
    pub client: Client,
    pub settings: Settings,
    /// The server's reservation clock (see [`TestApp::advance_clock`]).
    pub clock: std::sync::Arc<program_distributor::startup::Clock>,
    _database: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the app after `tweak` adjusted its settings.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        program_distributor::telemetry::init(
            "debug",
            program_distributor::telemetry::LogFormat::Text,
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = testing::start(backend, "pd", dir.path(), tweak).await;
    TestApp {
        client: Client::new(server.address.clone()),
        address: server.address,
        settings: server.settings,
        clock: server.clock,
        _database: server.database,
        _dir: dir,
    }
}

impl TestApp {
    /// The object store the app writes to, opened on the side (to look at or remove blobs).
    pub fn object_store(&self) -> Box<dyn ObjectStore> {
        object_store_of(&self.settings)
    }

    /// Moves the server's reservation clock forward by `by`: locks shorter than that expire at
    /// once, with no waiting.
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.clock.advance(by);
    }

    /// Moves the server's reservation clock just past `until` (the end of a lock it announced).
    pub fn advance_clock_past(&self, until: chrono::DateTime<chrono::Utc>) {
        let ahead = until.timestamp_millis() - self.clock.now_millis();
        self.advance_clock(std::time::Duration::from_millis(ahead.max(0) as u64 + 1));
    }

    /// The input group's row as stored, for what the API does not show (its execution's id).
    pub async fn stored_group(&self, program: Uuid, group: Uuid) -> Option<InputGroupRow> {
        let url = self.settings.database.url.clone();
        let db = tokio::task::spawn_blocking(move || program_distributor::db::Db::open(&url, 1))
            .await
            .expect("database task")
            .expect("database");
        let (program, group) = (program.to_string(), group.to_string());
        db.run(move |conn| input_groups::find(conn, &program, &group))
            .await
            .expect("input group query")
    }
}

/// The object store of a server running on `settings`, opened on the side.
pub fn object_store_of(settings: &Settings) -> Box<dyn ObjectStore> {
    match &settings.storage {
        StorageSettings::Local(dir) => {
            Box::new(program_distributor::storage::local::LocalStore::open(dir).unwrap())
        }
        StorageSettings::S3(s3) => Box::new(program_distributor::storage::s3::S3Store::new(s3)),
    }
}

/// What the store holds and what the database refers to, for a server on `settings` (read on
/// the side): `(stored, referenced)` object keys.
pub async fn inventory(
    settings: &Settings,
) -> (
    std::collections::HashSet<String>,
    std::collections::HashSet<String>,
) {
    let url = settings.database.url.clone();
    let db = tokio::task::spawn_blocking(move || program_distributor::db::Db::open(&url, 1))
        .await
        .expect("database task")
        .expect("database");
    let referenced = program_distributor::sweeper::referenced(&db)
        .await
        .expect("referenced objects");
    let stored = object_store_of(settings)
        .list(program_distributor::storage::keys::ROOT)
        .await
        .expect("list the objects")
        .into_iter()
        .map(|o| o.key)
        .collect();
    (stored, referenced)
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
        register_on(&self.client, username, name).await;
    }

    pub async fn login(&self, username: &str) -> LoginResponse {
        login_on(&self.client, username).await
    }

    /// Registers an organization called `name` and logs it in.
    pub async fn org(&self, name: &str) -> Org {
        org_on(&self.client, name).await
    }
}

pub async fn register_on(client: &Client, username: &str, name: &str) {
    client
        .register(&RegisterRequest {
            username: username.into(),
            password: PASSWORD.into(),
            name: name.into(),
            description: format!("{name} does research"),
        })
        .await
        .expect("register");
}

pub async fn login_on(client: &Client, username: &str) -> LoginResponse {
    client
        .login(&LoginRequest {
            username: username.into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("login")
}

/// Registers an organization called `name` on the server `client` talks to, and logs it in.
pub async fn org_on(anonymous: &Client, name: &str) -> Org {
    let username = format!(
        "{}-{}",
        name.to_lowercase().replace(' ', "-"),
        &Uuid::new_v4().simple().to_string()[..6]
    );
    register_on(anonymous, &username, name).await;
    let login = login_on(anonymous, &username).await;
    let client = anonymous.with_token(&login.basic_token.token);
    let page = anonymous
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
        policy: Default::default(),
        max_failures: distributor_api::DEFAULT_MAX_FAILURES,
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

/// The `data` of a proof or execution upload about `group`, naming no reservation.
pub fn ids(org: &Org, program: Uuid, group: Uuid) -> UploadProofData {
    UploadProofData {
        organization_id: org.organization_id,
        program_id: program,
        input_group_id: group,
        reservation_id: None,
    }
}

/// The same, under the reservation `reservation_id`.
pub fn ids_under(org: &Org, program: Uuid, group: Uuid, reservation_id: Uuid) -> UploadProofData {
    UploadProofData {
        reservation_id: Some(reservation_id),
        ..ids(org, program, group)
    }
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
        program_distributor::both_backends!(async $crate::helpers::spawn_app; $($name),*);
    };
}

/// Runs each named async test `fn name(backend: Backend)` (which starts its own app, with its
/// own settings) on both backends: `name::mariadb_s3` and `name::embedded`.
#[macro_export]
macro_rules! for_both_backends {
    ($($name:ident),* $(,)?) => {
        program_distributor::both_backends!(backend; $($name),*);
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

/// The run of the compiled program `program_json` on the input CSV `csv`.
pub async fn run_of_program(program_json: Vec<u8>, csv: &str) -> cairo_stark::Execution {
    let csv = csv.to_string();
    tokio::task::spawn_blocking(move || {
        let program = cairo_stark::CompiledProgram::parse(&program_json).expect("program");
        let inputs = cairo_stark::inputs::parse_csv(csv.as_bytes()).expect("inputs");
        cairo_stark::execute(&program, &inputs).expect("execute")
    })
    .await
    .expect("execution task")
}

/// The execution file of the compiled program `program_json` run on the input CSV `csv`.
pub async fn execution_of_program(program_json: Vec<u8>, csv: &str) -> Vec<u8> {
    run_of_program(program_json, csv).await.to_file_bytes()
}

/// The run of the fixture program `proof_mode.json` on the input CSV `csv`, to tamper with.
pub async fn run_of(csv: &str) -> cairo_stark::Execution {
    run_of_program(fixture("proof_mode.json"), csv).await
}

/// What precedes the compressed body of an execution file (format version 1).
const EXECUTION_HEADER: &[u8] = b"CAIROEXE\x01\x00";

/// The decompressed body of the execution file `file`.
pub fn execution_body(file: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let compressed = file
        .strip_prefix(EXECUTION_HEADER)
        .expect("an execution file");
    let mut body = Vec::new();
    flate2::read::DeflateDecoder::new(compressed)
        .read_to_end(&mut body)
        .expect("inflate");
    body
}

/// An execution file whose body is `body` followed by `zeros_mib` MiB of zeros: a few hundred
/// KiB that inflate to far more.
pub fn execution_bomb(body: &[u8], zeros_mib: usize) -> Vec<u8> {
    use std::io::Write;
    let mut encoder =
        flate2::write::DeflateEncoder::new(EXECUTION_HEADER.to_vec(), flate2::Compression::best());
    encoder.write_all(body).expect("deflate");
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..zeros_mib {
        encoder.write_all(&zeros).expect("deflate");
    }
    encoder.finish().expect("deflate")
}

/// The execution file of the fixture program `proof_mode.json` on the input CSV `csv`.
pub async fn execution_of(csv: &str) -> Vec<u8> {
    execution_of_program(fixture("proof_mode.json"), csv).await
}

/// The example program of the repository (Collatz), a second real program.
pub fn example_program_json() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../example-program/collatz.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
