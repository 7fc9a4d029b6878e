//! Slow and idle clients do not hold connections: a body trickled a byte a second is cut off at
//! the body timeout, an idle kept-alive connection is closed, and connections beyond the limit
//! wait in the backlog instead of taking descriptors. Raw TCP on loopback, every loop bounded in
//! count and time.

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

/// One worker holding at most `LIMIT` connections: the next client waits until one closes.
async fn connections_beyond_the_limit_wait_until_one_closes(backend: Backend) {
    const LIMIT: usize = 4;
    let app = spawn_app_with(backend, |s| {
        // Long enough that no held connection is closed by the server during the test.
        s.server.timeouts.keep_alive = Duration::from_secs(60);
        s.server.workers = Some(1);
        s.server.max_connections = LIMIT;
    })
    .await;
    let request = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    // Clients are served and keep their connections open, until one is not served: the limit
    // (a connection the harness itself keeps alive may hold one of the slots).
    let mut held = Vec::new();
    let mut waiting = None;
    for _ in 0..LIMIT + 2 {
        let mut stream = connect(&app).await;
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                assert!(chunk[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &chunk[..n]);
                held.push(stream);
            }
            _ => {
                waiting = Some(stream);
                break;
            }
        }
    }
    let mut waiting = waiting.unwrap_or_else(|| {
        panic!(
            "{} connections were all served: no limit of {LIMIT}",
            held.len()
        )
    });
    assert!(held.len() <= LIMIT, "{} connections served", held.len());
    // One client leaves: the waiting one is taken and served.
    drop(held.pop());
    let mut chunk = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), waiting.read(&mut chunk)).await;
    let n = read.expect("served once a slot is free").expect("read");
    let text = String::from_utf8_lossy(&chunk[..n]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
}

for_both_backends!(
    a_body_trickled_a_byte_a_second_is_cut_off_at_the_body_timeout,
    an_idle_kept_alive_connection_is_closed,
    a_body_in_time_is_served,
    connections_beyond_the_limit_wait_until_one_closes,
);
