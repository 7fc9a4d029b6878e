use std::collections::BTreeSet;

use distributor_api::ErrorCode;
use program_distributor::configuration::DatabaseUrl;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(health_reports_ok, openapi_document_matches_the_routes);

async fn health_reports_ok(app: TestApp) {
    let health = app.client.health().await.unwrap();
    assert_eq!(health.status, "ok");
}

/// The OpenAPI document lists exactly the routes the server registers, and each of them answers
/// (none is a 404 or 405 of the router).
async fn openapi_document_matches_the_routes(app: TestApp) {
    let document = app.client.openapi().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
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
            .replace("{organization_id}", &id);
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
