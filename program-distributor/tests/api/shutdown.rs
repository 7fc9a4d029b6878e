//! Graceful shutdown: on SIGTERM the server binary stops taking connections, lets the uploads in
//! progress finish (within `SERVER_SHUTDOWN_TIMEOUT_SECS`), and exits; nothing is half-written.

use std::time::{Duration, Instant};

use distributor_api::{Envelope, UploadInputsResponse};
use program_distributor::storage::keys;
use program_distributor::testing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::for_both_backends;
use crate::helpers::*;
use crate::process::{environment, ServerProcess};

for_both_backends!(sigterm_during_a_slow_upload_lets_it_finish_then_exits);

const BOUNDARY: &str = "slow-upload-boundary";

/// A raw `POST /program/inputs/{program}` request (head and body), so it can be sent slowly.
fn inputs_upload(program: uuid::Uuid, token: &str, csv: &[u8]) -> (String, Vec<u8>) {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"\r\n\
         Content-Type: application/json\r\n\r\n{{\"name\":\"slow\"}}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"inputs.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(csv);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let head = format!(
        "POST /program/inputs/{program} HTTP/1.1\r\nHost: localhost\r\ntoken: {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    (head, body)
}

/// Whether the server still takes new requests.
async fn takes_requests(address: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    client.get(format!("{address}/health")).send().await.is_ok()
}

async fn sigterm_during_a_slow_upload_lets_it_finish_then_exits(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (settings, _database) = testing::settings(backend, "stop", dir.path()).await;
    let mut server = ServerProcess::start(&environment(&settings), dir.path(), &[]).await;
    let org = org_on(
        &distributor_api::Client::new(server.address.clone()),
        "Stopping",
    )
    .await;
    let program = upload_program(&org, "stopping", 600).await;
    let csv = "42\n".repeat(100_000).into_bytes();
    let (head, body) = inputs_upload(program, &org.login.basic_token.token, &csv);

    let mut stream = TcpStream::connect(server.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 3);
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.terminate();
    // Stopping: no new request is taken (within a moment), while the upload goes on, slowly.
    let stopped_taking = Instant::now();
    while takes_requests(&server.address).await {
        assert!(
            stopped_taking.elapsed() < Duration::from_secs(5),
            "still taking requests 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for part in rest.chunks(rest.len() / 10 + 1) {
        stream.write_all(part).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("an answer to the upload")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let json = &text[text.find("\r\n\r\n").expect("a body") + 4..];
    let uploaded: Envelope<UploadInputsResponse> = serde_json::from_str(json).unwrap();
    let Envelope::Success { data } = uploaded else {
        panic!("not a success: {json}")
    };
    let group = data.input_group_id;

    let status = server
        .exited_within(Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("still running after SIGTERM:\n{}", server.log_text()));
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        server.log_text()
    );
    // The upload is complete: its row and its object, and nothing else.
    let (stored, referenced) = inventory(&settings).await;
    assert_eq!(stored, referenced);
    let key = keys::inputs(&program.to_string(), &group.to_string());
    assert!(stored.contains(&key), "{key} missing from {stored:?}");
}
