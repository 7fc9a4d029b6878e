//! Floods are cut off: logins per address and per username, registrations, uploads and
//! reservations per address, and the password-hashing pool. Each refusal is
//! `429 TOO_MANY_REQUESTS` with `Retry-After`.

use distributor_api::{ErrorCode, RegisterRequest};
use program_distributor::configuration::RateSettings;
use program_distributor::testing::generous_rates;

use crate::for_both_backends;
use crate::helpers::*;

async fn spawn_limited(backend: Backend, rates: RateSettings) -> TestApp {
    spawn_app_with(backend, |s| s.rate_limits = rates).await
}

/// POSTs `body` to `path`; returns the status, the `Retry-After` header and the error code.
async fn post(app: &TestApp, path: &str, body: serde_json::Value) -> (u16, Option<u64>, String) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body: serde_json::Value = response.json().await.expect("an envelope");
    let code = body["error_code"].as_str().unwrap_or_default().to_string();
    (status, retry, code)
}

async fn login_with(app: &TestApp, username: &str, password: &str) -> (u16, Option<u64>, String) {
    let body = serde_json::json!({ "username": username, "password": password });
    post(app, "/account/login", body).await
}

async fn login(app: &TestApp, username: &str) -> (u16, Option<u64>, String) {
    login_with(app, username, PASSWORD).await
}

#[track_caller]
fn assert_limited((status, retry, code): (u16, Option<u64>, String)) {
    assert_eq!((status, code.as_str()), (429, "TOO_MANY_REQUESTS"));
    assert!(
        retry.is_some_and(|s| (1..=60).contains(&s)),
        "Retry-After {retry:?}"
    );
}

async fn logins_are_limited_per_address_and_per_username(backend: Backend) {
    let rates = RateSettings {
        login_per_ip: 5,
        login_per_username: 2,
        ..generous_rates()
    };
    let app = spawn_limited(backend, rates).await;
    app.register("alice", "Alice").await;
    app.register("bob", "Bob").await;
    assert_eq!(login(&app, "alice").await.0, 200);
    let wrong = login_with(&app, "Alice", "not the password").await;
    assert_eq!(wrong.2, "WRONG_CREDENTIALS");
    // The third try of one username (in any case) is refused even with the right password.
    assert_limited(login(&app, "alice").await);
    assert_eq!(login(&app, "bob").await.0, 200);
    assert_eq!(login(&app, "bob").await.0, 200);
    // Five tries from this address: the sixth is refused whatever the username.
    assert_limited(login(&app, "carol").await);
}

async fn registrations_are_limited_per_address(backend: Backend) {
    let rates = RateSettings {
        register_per_ip: 2,
        ..generous_rates()
    };
    let app = spawn_limited(backend, rates).await;
    app.register("first", "First").await;
    app.register("second", "Second").await;
    let third = serde_json::to_value(RegisterRequest {
        username: "third".into(),
        password: PASSWORD.into(),
        name: "Third".into(),
        description: String::new(),
    })
    .unwrap();
    assert_limited(post(&app, "/account/register", third).await);
}

async fn uploads_and_reservations_are_limited_per_address(backend: Backend) {
    let rates = RateSettings {
        uploads_per_ip: 2,
        reservations_per_ip: 2,
        ..generous_rates()
    };
    let app = spawn_limited(backend, rates).await;
    let org = app.org("Flooded").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    for _ in 0..2 {
        let result = app
            .client
            .upload_proof(b"junk".to_vec(), &ids(&org, program, group))
            .await;
        assert_code(result, ErrorCode::InvalidProof);
    }
    let result = app
        .client
        .upload_execution(b"junk".to_vec(), &ids(&org, program, group))
        .await;
    assert_code(result, ErrorCode::TooManyRequests);

    app.client.reserve(program).await.unwrap();
    assert_code(
        app.client.reserve_for_execution(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    assert_code(
        app.client.reserve_for_proving(program).await,
        ErrorCode::TooManyRequests,
    );
}

async fn password_hashing_waits_for_a_bounded_pool(backend: Backend) {
    let rates = RateSettings {
        password_hashing: 1,
        password_hashing_wait: std::time::Duration::ZERO,
        ..generous_rates()
    };
    let app = spawn_limited(backend, rates).await;
    app.register("hasher", "Hasher").await;
    // Twelve logins at once with one hashing slot and no waiting: some are refused at once.
    let logins: Vec<_> = (0..12)
        .map(|_| {
            let client = app.client.clone();
            tokio::spawn(async move {
                client
                    .login(&distributor_api::LoginRequest {
                        username: "hasher".into(),
                        password: PASSWORD.into(),
                    })
                    .await
            })
        })
        .collect();
    let (mut accepted, mut refused) = (0, 0);
    for login in logins {
        match login.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert_eq!(e.code(), Some(ErrorCode::TooManyRequests), "{e}");
                refused += 1;
            }
        }
    }
    assert!(
        accepted >= 1 && refused >= 1,
        "{accepted} accepted, {refused} refused"
    );
}

for_both_backends!(
    logins_are_limited_per_address_and_per_username,
    registrations_are_limited_per_address,
    uploads_and_reservations_are_limited_per_address,
    password_hashing_waits_for_a_bounded_pool,
);
