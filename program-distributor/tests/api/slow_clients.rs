//! Slow and idle clients do not hold connections: a body trickled a byte a second is cut off at
//! the body timeout, an idle kept-alive connection is closed. Raw TCP on loopback, every loop
//! bounded in count and time.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::for_both_backends;
use crate::helpers::*;

const BODY_TIMEOUT: Duration = Duration::from_secs(2);
const KEEP_ALIVE: Duration = Duration::from_secs(2);

async fn spawn_strict(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.server.timeouts.request_body = BODY_TIMEOUT;
        s.server.timeouts.keep_alive = KEEP_ALIVE;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect to the test server")
}

/// Reads what the server sends within `wait` (until it closes or `wait` passes).
async fn read_for(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (answer, true),
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
            Err(_) => return (answer, false),
        }
    }
}

async fn a_body_trickled_a_byte_a_second_is_cut_off_at_the_body_timeout(backend: Backend) {
    let app = spawn_strict(backend).await;
    let mut stream = connect(&app).await;
    let head = "POST /account/login HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    // At most 10 bytes, one a second: the server must answer long before the body is complete.
    for _ in 0..10 {
        if stream.write_all(b"{").await.is_err() {
            break;
        }
        let (read, closed) = read_for(&mut stream, Duration::from_secs(1)).await;
        answer.extend(read);
        if closed || !answer.is_empty() {
            break;
        }
    }
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "after {elapsed:?}: {text:?}"
    );
    assert!(text.contains("\"REQUEST_TIMEOUT\""), "{text}");
    assert!(
        elapsed >= BODY_TIMEOUT && elapsed < BODY_TIMEOUT + Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    // And the connection is closed.
    let (_, closed) = read_for(&mut stream, Duration::from_secs(2)).await;
    assert!(closed, "the connection stays open after the timeout");
}

async fn an_idle_kept_alive_connection_is_closed(backend: Backend) {
    let app = spawn_strict(backend).await;
    let mut stream = connect(&app).await;
    let request = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (answer, closed) = read_for(&mut stream, KEEP_ALIVE * 3).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(
        closed,
        "an idle connection stayed open for {:?}",
        KEEP_ALIVE * 3
    );
    // actix's timer ticks coarsely: allow it to close a little early, never at once.
    assert!(
        started.elapsed() >= KEEP_ALIVE / 2,
        "closed after {:?}: {text}",
        started.elapsed()
    );
}

async fn a_body_in_time_is_served(backend: Backend) {
    let app = spawn_strict(backend).await;
    // A slow but steady body that ends before the timeout is answered normally.
    let mut stream = connect(&app).await;
    let body = br#"{"username":"nobody-here","password":"wrong password"}"#;
    let head = format!(
        "POST /account/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for part in body.chunks(body.len() / 3 + 1) {
        stream.write_all(part).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (answer, _) = read_for(&mut stream, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 403"), "{text:?}");
    assert!(text.contains("\"WRONG_CREDENTIALS\""), "{text}");
}

for_both_backends!(
    a_body_trickled_a_byte_a_second_is_cut_off_at_the_body_timeout,
    an_idle_kept_alive_connection_is_closed,
    a_body_in_time_is_served,
);
