use std::collections::BTreeSet;

use distributor_api::ErrorCode;
use program_distributor::configuration::DatabaseUrl;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    health_reports_ok,
    head_health_answers_200_without_a_body,
    openapi_document_matches_the_routes
);

async fn health_reports_ok(app: TestApp) {
    let health = app.client.health().await.unwrap();
    assert_eq!(health.status, "ok");
}

/// Load balancers and uptime probes ask with HEAD.
async fn head_health_answers_200_without_a_body(app: TestApp) {
    let response = reqwest::Client::new()
        .head(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
}

/// The OpenAPI document lists exactly the routes the server registers, and each of them answers
/// (none is a 404 or 405 of the router).
async fn openapi_document_matches_the_routes(app: TestApp) {
    let document = app.client.openapi().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "head", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let registered: BTreeSet<(String, String)> = program_distributor::routes::route_list()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, registered);

    let id = uuid::Uuid::new_v4().to_string();
    for (method, path) in registered {
        let concrete = path
            .replace("{program_id}", &id)
            .replace("{input_group_id}", &id)
            .replace("{organization_id}", &id)
            .replace("{donor_id}", &id)
            .replace("{team_id}", &id)
            .replace("{file}", "app.js");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), &concrete)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let code = body["error_code"].as_str().unwrap_or_default();
        assert!(
            code != ErrorCode::RouteNotFound.as_str()
                && code != ErrorCode::MethodNotAllowed.as_str(),
            "{method} {concrete} is not routed: {status} {body}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings =
        program_distributor::configuration::resolve(Default::default(), &|name| match name {
            "DATA_DIR" => Some(dir.path().display().to_string()),
            _ => None,
        })
        .unwrap();
    settings.server.port = 0;
    settings.database.url = DatabaseUrl::Mysql("mysql://root:secret@127.0.0.1:1/nothing".into());
    let error = match program_distributor::startup::Application::build(settings).await {
        Ok(_) => panic!("started without a database"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("cannot connect to the database"), "{error}");
    assert!(error.contains("127.0.0.1:1"), "{error}");
    assert!(!error.contains("secret"), "the password leaked: {error}");
}

#[tokio::test]
async fn the_embedded_default_starts_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings =
        program_distributor::configuration::resolve(Default::default(), &|name| match name {
            "DATA_DIR" => Some(dir.path().display().to_string()),
            _ => None,
        })
        .unwrap();
    settings.server.port = 0;
    let app = program_distributor::startup::Application::build(settings)
        .await
        .unwrap();
    let client = distributor_api::Client::new(format!("http://127.0.0.1:{}", app.port()));
    tokio::spawn(app.run_until_stopped());
    assert_eq!(client.health().await.unwrap().status, "ok");
    assert!(dir.path().join("distributor.sqlite3").is_file());
    assert!(dir.path().join("token-secrets.json").is_file());
}

#[test]
fn the_openapi_document_lists_every_error_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let documented: Vec<&str> = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let known: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, known);
}

#[test]
fn every_route_is_registered_once() {
    let routes = program_distributor::routes::route_list();
    let distinct: BTreeSet<_> = routes.iter().map(|(m, p)| (m.to_string(), *p)).collect();
    assert_eq!(distinct.len(), routes.len());
}

/// Runs the server binary with `env` (and an empty config file) until it exits or `wait`
/// passes; returns whether it was still running, and what it printed.
fn run_binary(env: &[(&str, &str)], wait: std::time::Duration) -> (bool, String) {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, "{}").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_program-distributor"))
        .env_clear()
        .env("CONFIG_FILE", &config)
        .env("DATA_DIR", dir.path())
        .env("SERVER_PORT", "0")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let deadline = std::time::Instant::now() + wait;
    let mut running = true;
    while running && std::time::Instant::now() < deadline {
        running = matches!(child.try_wait(), Ok(None));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if running {
        let _ = child.kill();
    }
    let _ = child.wait();
    let mut output = String::new();
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut stream = stream;
        let _ = stream.read_to_string(&mut output);
    }
    (running, output)
}

#[test]
fn log_format_json_writes_one_json_object_a_line() {
    let strong = "0123456789abcdef0123456789abcdef";
    let secrets = [
        ("BASIC_TOKEN_SECRET", strong),
        ("REFRESH_TOKEN_SECRET", "fedcba9876543210fedcba9876543210"),
    ];
    let wait = std::time::Duration::from_secs(3);
    let (running, output) = run_binary(&[secrets[0], secrets[1], ("LOG_FORMAT", "json")], wait);
    assert!(running, "did not start: {output}");
    let lines: Vec<serde_json::Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "program-distributor listening"),
        "{output}"
    );
    assert!(lines.iter().all(|l| l["level"].is_string()), "{output}");
    let (running, output) = run_binary(&[secrets[0], secrets[1], ("LOG_FORMAT", "xml")], wait);
    assert!(!running, "started with a bad LOG_FORMAT: {output}");
    assert!(output.contains("LOG_FORMAT must be"), "{output}");
}

#[test]
fn the_server_refuses_to_start_with_a_sample_or_short_token_secret() {
    let strong = "0123456789abcdef0123456789abcdef";
    let wait = std::time::Duration::from_secs(20);
    let (running, output) = run_binary(
        &[
            ("BASIC_TOKEN_SECRET", "change-me-basic-token-secret"),
            ("REFRESH_TOKEN_SECRET", strong),
        ],
        wait,
    );
    assert!(!running, "started with the sample secret: {output}");
    assert!(output.contains("sample"), "{output}");
    let (running, output) = run_binary(
        &[
            ("BASIC_TOKEN_SECRET", strong),
            ("REFRESH_TOKEN_SECRET", "short"),
        ],
        wait,
    );
    assert!(!running, "started with a short secret: {output}");
    assert!(output.contains("32 bytes"), "{output}");
    // The development flag lets it start, with a warning.
    let (running, output) = run_binary(
        &[
            ("BASIC_TOKEN_SECRET", "change-me-basic-token-secret"),
            ("REFRESH_TOKEN_SECRET", "short"),
            ("ALLOW_WEAK_TOKEN_SECRETS", "true"),
        ],
        std::time::Duration::from_secs(3),
    );
    assert!(running, "did not start with the development flag: {output}");
    assert!(output.contains("ALLOW_WEAK_TOKEN_SECRETS"), "{output}");
}

/// `--version` answers the version; `--help` lists the settings that matter with their
/// variables.
#[test]
fn the_binary_tells_its_version_and_its_settings() {
    let binary = env!("CARGO_BIN_EXE_program-distributor");
    let version = std::process::Command::new(binary)
        .arg("--version")
        .output()
        .expect("run the server binary");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("program-distributor {}", env!("CARGO_PKG_VERSION"))
    );
    let help = std::process::Command::new(binary)
        .arg("--help")
        .output()
        .expect("run the server binary");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for variable in [
        "SERVER_PORT",
        "DATA_DIR",
        "DATABASE_URL",
        "FILES_STORAGE_CONNECTION_STRING",
        "FILES_STORAGE_DIRECTORY",
        "CONFIG_FILE",
        "NO_COLOR",
    ] {
        assert!(text.contains(variable), "{variable} missing from:\n{text}");
    }
}
