//! The web dashboard in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver, `fantoccini`), against the real server holding an organization, a program, donors
//! and a team. The pages must render, show the numbers the API answers, let the organization log
//! in to see its programs' full status, fit a phone's width, and move when a proof is accepted.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and `chromium-driver`), which
//! `scripts/services.sh` installs. Set `DASHBOARD_SCREENSHOTS=DIR` to save screenshots of the
//! main pages there (how `docs/dashboard-*.png` were made).

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use distributor_api::signing::DonorKey;
use distributor_api::{FailureReason, FailureReport};
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use helpers::*;
use serde_json::{json, Value};

/// A chromedriver process on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start chromedriver ({e}): run `. scripts/services.sh` first, which \
                 installs Debian's chromium and chromium-driver"
            )
        });
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

async fn browser(driver: &Driver) -> Browser {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--window-size=1280,900"]}),
    );
    ClientBuilder::rustls()
        .expect("TLS setup")
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// The text of the first element matching `css`, once `ready` accepts it (the page polls the API
/// and renders asynchronously); panics after 20 s with what it saw.
async fn text_when(browser: &Browser, css: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null";
    loop {
        let seen = browser
            .execute(script, vec![json!(css)])
            .await
            .expect("script");
        if let Value::String(text) = &seen {
            if ready(text.trim()) {
                return text.trim().to_string();
            }
        }
        assert!(Instant::now() < deadline, "{css}: saw {seen}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn text(browser: &Browser, css: &str) -> String {
    text_when(browser, css, |_| true).await
}

/// How the page writes a number (en-US grouping).
fn shown(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", groups.join(","))
}

#[test]
fn numbers_are_grouped_by_thousands() {
    assert_eq!(shown(0), "0");
    assert_eq!(shown(999), "999");
    assert_eq!(shown(1234567), "1,234,567");
    assert_eq!(shown(-1000), "-1,000");
}

async fn screenshot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("DASHBOARD_SCREENSHOTS") {
        let png = browser.screenshot().await.expect("screenshot");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png)
            .expect("save the screenshot");
    }
}

crate::for_both_backends!(the_dashboard_shows_what_the_api_answers_and_moves_with_the_work);

async fn the_dashboard_shows_what_the_api_answers_and_moves_with_the_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.org("Open Lab").await;
    let program = upload_program(&org, "doubling", 600).await;
    let first = upload_inputs(&org, program, "first", 3).await;
    let second = upload_inputs(&org, program, "second", 4).await;
    upload_inputs(&org, program, "third", 5).await;
    let ada = app.client.with_donor(DonorKey::generate().unwrap());
    let ada_id = ada.register_donor("Ada Lovelace").await.unwrap();
    let team = ada
        .create_team("Analytical Engines", "we prove things")
        .await
        .unwrap();
    ada.upload_proof(proof_of("3").await, &ids(&org, program, first))
        .await
        .unwrap();
    // A donor's run of another group fails, and says why.
    let failed = app.client.reserve(program).await.unwrap().metadata;
    app.client
        .report_failure(&FailureReport {
            program_id: program,
            input_group_id: failed.input_group_id,
            reservation_id: failed.reservation_id.unwrap(),
            reason: FailureReason::AssertFailed,
            message: "boom at pc 12".into(),
        })
        .await
        .unwrap();
    // A donor sends a file that is no proof at all: the server refuses it, and says why.
    let refused = app
        .client
        .upload_proof(b"not a proof".to_vec(), &ids(&org, program, second))
        .await;
    let Err(distributor_api::ClientError::Api { message: told, .. }) = refused else {
        panic!("a refused proof: {refused:?}");
    };
    let progress = app.client.program_progress(program).await.unwrap();
    let profile = app.client.donor(ada_id).await.unwrap();

    let driver = driver().await;
    let browser = browser(&driver).await;
    let base = app.address.clone();

    // The catalogue: the program with its progress and steps.
    browser.goto(&format!("{base}/#/")).await.unwrap();
    let steps = text(&browser, "[data-test=program-steps]").await;
    assert_eq!(steps, shown(progress.steps_proven));
    assert!(text(&browser, "[data-test=program-row]")
        .await
        .contains("1 of 3 proven"));
    screenshot(&browser, "dashboard-programs").await;

    // The program's page: the same numbers as its progress endpoint, and its top donor.
    browser
        .goto(&format!("{base}/#/program/{program}"))
        .await
        .unwrap();
    assert_eq!(text(&browser, "[data-test=program-name]").await, "doubling");
    assert_eq!(
        text(&browser, "[data-test=steps-proven]").await,
        shown(progress.steps_proven)
    );
    assert_eq!(text(&browser, "[data-test=donors-contributing]").await, "1");
    assert!(text(&browser, "[data-test=top-donors]")
        .await
        .contains("Ada Lovelace"));
    screenshot(&browser, "dashboard-program").await;

    // The leaderboard, the donor's and the team's pages.
    browser.goto(&format!("{base}/#/donors")).await.unwrap();
    let row = text(&browser, "[data-test=donor-row]").await;
    assert!(
        row.contains("Ada Lovelace") && row.contains(&shown(profile.total.steps)),
        "{row}"
    );
    screenshot(&browser, "dashboard-donors").await;
    browser
        .goto(&format!("{base}/#/donor/{ada_id}"))
        .await
        .unwrap();
    assert_eq!(
        text(&browser, "[data-test=donor-total-steps]").await,
        shown(profile.total.steps)
    );
    assert_eq!(text(&browser, "[data-test=donor-rank]").await, "#1");
    browser.goto(&format!("{base}/#/teams")).await.unwrap();
    assert!(text(&browser, "[data-test=team-row]")
        .await
        .contains("Analytical Engines"));
    browser
        .goto(&format!("{base}/#/team/{team}"))
        .await
        .unwrap();
    assert_eq!(
        text(&browser, "[data-test=team-steps]").await,
        shown(profile.total.steps)
    );
    browser
        .goto(&format!("{base}/#/organizations"))
        .await
        .unwrap();
    assert!(text(&browser, "[data-test=organization-row]")
        .await
        .contains("Open Lab"));

    // The organization logs in and sees every state of its program, and the failed run.
    browser.goto(&format!("{base}/#/login")).await.unwrap();
    let field = |name: &'static str| {
        let browser = browser.clone();
        async move {
            browser
                .wait()
                .for_element(Locator::Css(&format!("input[name={name}]")))
                .await
                .expect("the login form")
        }
    };
    field("username")
        .await
        .send_keys(&org.username)
        .await
        .unwrap();
    field("password").await.send_keys(PASSWORD).await.unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = org.client.program_status(program).await.unwrap();
    let row = text(&browser, "[data-test=my-program-row]").await;
    let expected: String = [
        status.total,
        status.uploaded,
        status.reserved,
        status.executed,
    ]
    .iter()
    .chain(&[status.proven, status.confirmed, status.failed])
    .map(|n| n.to_string())
    .collect();
    assert_eq!(
        row.split_whitespace().collect::<String>(),
        format!("doubling{expected}")
    );
    let failure = text(&browser, "[data-test=failure-row]").await;
    assert!(
        failure.contains("assert_failed") && failure.contains("boom at pc 12"),
        "{failure}"
    );
    let refusal = text(&browser, "[data-test=refusal-row]").await;
    assert!(
        refusal.contains("second") && refusal.contains("INVALID_PROOF") && refusal.contains(&told),
        "{refusal}"
    );
    screenshot(&browser, "dashboard-organization").await;
    the_session_outlives_its_basic_token_until_logout(&browser, &app.client, &base).await;

    // At a phone's width nothing overflows sideways.
    browser.set_window_size(390, 844).await.unwrap();
    browser
        .goto(&format!("{base}/#/program/{program}"))
        .await
        .unwrap();
    text(&browser, "[data-test=steps-proven]").await;
    let fits = browser
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "the program page is wider than a phone");
    screenshot(&browser, "dashboard-phone").await;

    // A proof accepted now shows on the open page without a reload.
    app.client
        .upload_proof(proof_of("4").await, &ids(&org, program, second))
        .await
        .unwrap();
    let after = app.client.program_progress(program).await.unwrap();
    let expected = shown(after.steps_proven);
    text_when(&browser, "[data-test=steps-proven]", |t| t == expected).await;
    assert_eq!(text(&browser, "[data-test=proven]").await, "2");

    // The page loads nothing from elsewhere.
    let foreign = browser
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .filter(n => !n.startsWith(location.origin))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(foreign, json!([]));
    browser.close().await.unwrap();
}

/// An expired (here: spoiled) basic token is renewed with the refresh token, so the page stays
/// logged in; logging out revokes the refresh token on the server.
async fn the_session_outlives_its_basic_token_until_logout(
    browser: &Browser,
    api: &distributor_api::Client,
    base: &str,
) {
    let stored = |key: &'static str| async move {
        browser
            .execute(
                "return sessionStorage.getItem(arguments[0]);",
                vec![json!(key)],
            )
            .await
            .unwrap()
    };
    let refresh: distributor_api::Token =
        serde_json::from_str(stored("distributor-refresh").await.as_str().expect("kept"))
            .expect("a refresh token");
    browser
        .execute(
            "sessionStorage.setItem('distributor-token', 'spoiled');",
            vec![],
        )
        .await
        .unwrap();
    // A fresh load of the page: its first authenticated request meets the spoiled token.
    browser.refresh().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored("distributor-token").await == json!("spoiled") {
        assert!(Instant::now() < deadline, "the basic token was not renewed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        stored("distributor-token").await.is_string(),
        "renewed, not forgotten"
    );
    assert!(text(browser, "[data-test=my-program-row]")
        .await
        .contains("doubling"));

    browser.goto(&format!("{base}/#/logout")).await.unwrap();
    text_when(browser, "h1", |t| t == "Logged out").await;
    let mut revoked = false;
    for _ in 0..50 {
        if api.refresh_token(&refresh.token).await.is_err() {
            revoked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(revoked, "logging out revokes the session");
    assert_eq!(stored("distributor-refresh").await, Value::Null);
}
