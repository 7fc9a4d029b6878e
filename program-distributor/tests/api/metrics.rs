//! `GET /metrics`: what the server did, counted under bounded labels.

use distributor_api::ErrorCode;
use program_distributor::configuration::RateSettings;
use program_distributor::testing::generous_rates;

use crate::for_both_backends;
use crate::helpers::*;

for_both_backends!(metrics_count_requests_reservations_uploads_and_refusals);

async fn metrics_text(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    response.text().await.unwrap()
}

/// The value of the sample `name{labels}`, which must be there.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .parse()
        .unwrap()
}

async fn metrics_count_requests_reservations_uploads_and_refusals(backend: Backend) {
    let rates = RateSettings {
        reservations_per_ip: 4,
        ..generous_rates()
    };
    let app = spawn_app_with(backend, |s| s.rate_limits = rates).await;
    let org = app.org("Measured").await;
    let program = upload_program(&org, "measured", 30).await;
    let zero = upload_inputs(&org, program, "zero", 0).await;
    let one = upload_inputs(&org, program, "one", 1).await;

    // Two reservations (one given back), two of a group whose lock runs out in between, then
    // the per-address limit.
    let first = app.client.reserve(program).await.unwrap().metadata;
    app.client
        .release_reservation(program, first.input_group_id, first.reservation_id.unwrap())
        .await
        .unwrap();
    app.client.reserve(program).await.unwrap();
    // A lock that runs out: its group is handed out again, and that counts as an expiry.
    let brief = upload_program(&org, "brief", 60).await;
    upload_inputs(&org, brief, "brief", 2).await;
    let other = app.client.anonymous();
    other.reserve(brief).await.unwrap();
    app.advance_clock(std::time::Duration::from_secs(61));
    other.reserve(brief).await.unwrap();
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::TooManyRequests,
    );

    // A proof accepted, one refused.
    app.client
        .upload_proof(proof_of("0").await, &ids(&org, program, zero))
        .await
        .unwrap();
    assert_code(
        app.client
            .upload_proof(b"not a proof at all".to_vec(), &ids(&org, program, one))
            .await,
        ErrorCode::InvalidProof,
    );
    // An execution refused.
    assert_code(
        app.client
            .upload_execution(b"not an execution".to_vec(), &ids(&org, program, one))
            .await,
        ErrorCode::InvalidExecution,
    );
    let unknown = reqwest::get(format!("{}/no/such/route", app.address))
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);

    let text = metrics_text(&app).await;
    assert_eq!(sample(&text, "reservation_lock_expiries_total"), 1.0);
    assert_eq!(
        sample(
            &text,
            r#"donor_uploads_total{kind="execution",outcome="INVALID_EXECUTION"}"#
        ),
        1.0
    );
    // The start-up sweep ran (an empty store: nothing to remove).
    assert!(sample(&text, "storage_sweeps_total") >= 1.0);
    let reserve = r#"method="GET",route="/program/program-and-inputs/{program_id}""#;
    assert_eq!(
        sample(
            &text,
            &format!("http_requests_total{{{reserve},status=\"200\"}}")
        ),
        4.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("http_requests_total{{{reserve},status=\"429\"}}")
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("http_request_duration_seconds_count{{{reserve}}}")
        ),
        5.0
    );
    assert_eq!(
        sample(&text, &format!("rate_limit_refusals_total{{{reserve}}}")),
        1.0
    );
    assert_eq!(sample(&text, r#"reservations_total{kind="whole"}"#), 4.0);
    assert_eq!(sample(&text, "reservation_releases_total"), 1.0);
    assert_eq!(
        sample(
            &text,
            r#"donor_uploads_total{kind="proof",outcome="accepted"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"donor_uploads_total{kind="proof",outcome="INVALID_PROOF"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&text, r#"check_duration_seconds_count{kind="proof"}"#),
        1.0
    );
    assert!(sample(&text, r#"check_duration_seconds_sum{kind="proof"}"#) > 0.0);
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        1.0
    );
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
}
