use reqwest::Method;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    actix_level_failures_come_out_as_the_error_envelope,
    malformed_json_bodies_are_invalid_requests,
    an_overlong_name_filter_is_an_enveloped_invalid_request,
    unknown_fields_are_refused_on_every_body,
);

async fn call(app: &TestApp, request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let _ = app;
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "error", "{body}");
    assert!(
        body["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (status, body)
}

fn code(body: &serde_json::Value) -> &str {
    body["error_code"].as_str().unwrap()
}

async fn actix_level_failures_come_out_as_the_error_envelope(app: TestApp) {
    let c = &app.client;
    let (status, body) = call(&app, c.request(Method::GET, "/no/such/route")).await;
    assert_eq!((status, code(&body)), (404, "ROUTE_NOT_FOUND"));
    let (status, body) = call(&app, c.request(Method::PUT, "/program/all")).await;
    assert_eq!((status, code(&body)), (405, "METHOD_NOT_ALLOWED"));
    let (status, body) = call(&app, c.request(Method::POST, "/health")).await;
    assert_eq!((status, code(&body)), (405, "METHOD_NOT_ALLOWED"));
    let (status, body) = call(&app, c.request(Method::GET, "/program/mine")).await;
    assert_eq!((status, code(&body)), (403, "INVALID_TOKEN"));
    let (status, body) = call(
        &app,
        c.request(Method::GET, "/program/mine")
            .header("token", "Bearer x y"),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "INVALID_TOKEN"));
    let (status, body) = call(&app, c.request(Method::GET, "/program/all?page=x")).await;
    assert_eq!((status, code(&body)), (400, "INVALID_REQUEST"));
    let (status, body) = call(
        &app,
        c.request(Method::GET, "/program/all?limit=99999999999999999999"),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "INVALID_REQUEST"));
}

async fn malformed_json_bodies_are_invalid_requests(app: TestApp) {
    let c = &app.client;
    let json = |path: &str, body: &str| {
        c.request(Method::POST, path)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    for (path, body) in [
        ("/account/register", "{not json"),
        ("/account/register", r#"{"username": "a"}"#),
        (
            "/account/register",
            r#"{"username": 5, "password": "x", "name": "n", "description": ""}"#,
        ),
        ("/account/login", "[]"),
        ("/account/login", ""),
        ("/account/refresh-token", r#"{"token": "x"}"#),
    ] {
        let (status, body) = call(&app, json(path, body)).await;
        assert_eq!(
            (status, code(&body)),
            (400, "INVALID_REQUEST"),
            "{path} {body}"
        );
    }
    let (status, body) = call(
        &app,
        c.request(Method::DELETE, "/account/refresh-token")
            .header("content-type", "application/json")
            .body(r#"{"token_id": "not-a-uuid"}"#),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "INVALID_REQUEST"));
    // Wrong content type.
    let (status, body) = call(
        &app,
        c.request(Method::POST, "/account/login")
            .header("content-type", "text/plain")
            .body(r#"{"username": "a", "password": "b"}"#),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "INVALID_REQUEST"));
    // Over the JSON size limit.
    let big = format!(
        r#"{{"username": "a", "password": "{}", "name": "n", "description": ""}}"#,
        "p".repeat(app.settings.limits.json_bytes)
    );
    let (status, body) = call(&app, json("/account/register", &big)).await;
    assert_eq!((status, code(&body)), (413, "PAYLOAD_TOO_LARGE"));
}

async fn an_overlong_name_filter_is_an_enveloped_invalid_request(app: TestApp) {
    let client = reqwest::Client::new();
    for path in ["/account/organizations", "/program/all"] {
        for length in [129, 20_000] {
            let filter = "a".repeat(length);
            let request = client
                .get(format!("{}{path}", app.address))
                .query(&[("name_filter", filter.as_str())]);
            let (status, body) = call(&app, request).await;
            assert_eq!(
                (status, code(&body)),
                (400, "INVALID_REQUEST"),
                "{path} {length}"
            );
        }
        // The longest name is still a valid prefix.
        let filter = "a".repeat(128);
        let response = client
            .get(format!("{}{path}", app.address))
            .query(&[("name_filter", filter.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}

/// A multipart upload of `file` with the JSON `data`.
fn multipart(
    app: &TestApp,
    method: Method,
    path: &str,
    file: Vec<u8>,
    data: serde_json::Value,
) -> reqwest::RequestBuilder {
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file).file_name("f"))
        .text("data", data.to_string());
    app.client.request(method, path).multipart(form)
}

/// The same rule on every JSON body and every multipart `data` field: a field the server does
/// not know is an enveloped `INVALID_REQUEST` naming it, never silently dropped.
async fn unknown_fields_are_refused_on_every_body(app: TestApp) {
    let org = app.org("Strict").await;
    let program = upload_program(&org, "strict", 30).await;
    let group = upload_inputs(&org, program, "one", 1).await;
    let ids = serde_json::json!({
        "organization_id": org.organization_id,
        "program_id": program,
        "input_group_id": group,
        "extra": 1,
    });
    let token = org.login.basic_token.token.clone();
    let requests = [
        app.client
            .request(Method::POST, "/account/register")
            .json(&serde_json::json!({
                "username": "strict-user", "password": PASSWORD, "name": "S", "description": "",
                "extra": 1,
            })),
        app.client
            .request(Method::POST, "/account/login")
            .json(&serde_json::json!({
                "username": org.username, "password": PASSWORD, "extra": 1,
            })),
        app.client
            .request(Method::POST, "/account/refresh-token")
            .json(&serde_json::json!({
                "refresh_token": org.login.refresh_token.token, "extra": 1,
            })),
        app.client
            .request(Method::POST, "/program/reservation/release")
            .json(&serde_json::json!({
                "program_id": program, "input_group_id": group, "reservation_id": group, "extra": 1,
            })),
        multipart(
            &app,
            Method::POST,
            "/program/upload",
            program_tar(),
            serde_json::json!({
                "name": "strict 2", "description": "", "execution_timeout": 30, "extra": 1,
            }),
        )
        .header("token", &token),
        multipart(
            &app,
            Method::POST,
            &format!("/program/inputs/{program}"),
            b"1".to_vec(),
            serde_json::json!({"name": "two", "extra": 1}),
        )
        .header("token", &token),
        multipart(
            &app,
            Method::POST,
            "/program/proof",
            b"x".to_vec(),
            ids.clone(),
        ),
        multipart(&app, Method::POST, "/program/execution", b"x".to_vec(), ids),
    ];
    for request in requests {
        let (status, body) = call(&app, request).await;
        assert_eq!((status, code(&body)), (400, "INVALID_REQUEST"), "{body}");
        assert!(
            body["error_message"]
                .as_str()
                .unwrap()
                .contains("unknown field `extra`"),
            "{body}"
        );
    }
    // Nothing was created by the refused requests.
    let mine = org.client.my_programs(&Default::default()).await.unwrap();
    assert_eq!(mine.total_elements_amount, 1);
}
