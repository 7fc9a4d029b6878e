//! `register`, `login`, `logout`, `whoami`.

use std::io::{BufRead, IsTerminal, Write};

use distributor_api::{Client, LoginRequest, PageQuery, RegisterRequest};
use serde_json::json;

use super::App;
use crate::cli::{Login, PasswordSource, Register};
use crate::error::{exit, CliError, CliResult};
use crate::session::{self, SessionFile};

pub async fn register(app: &App, args: Register) -> CliResult<i32> {
    let password = read_password(&args.password, true)?;
    let request = RegisterRequest {
        username: args.username.clone(),
        password,
        name: args.name.clone(),
        description: args.description,
    };
    app.anonymous
        .register(&request)
        .await
        .map_err(|e| CliError::api("cannot register", e))?;
    app.out
        .data(&json!({"registered": args.username, "name": args.name}));
    app.out.summary(format!(
        "registered {:?} ({}); now run `uploader-client login --username {}`",
        args.username, args.name, args.username
    ));
    Ok(0)
}

pub async fn login(app: &App, args: Login) -> CliResult<i32> {
    let password = read_password(&args.password, false)?;
    let request = LoginRequest {
        username: args.username.clone(),
        password,
    };
    let answer = app
        .anonymous
        .login(&request)
        .await
        .map_err(|e| CliError::api("cannot log in", e))?;
    // The session this one replaces is closed on its server (best effort: it may be gone).
    if let Ok(Some(previous)) = SessionFile::load(&app.state) {
        let _ = Client::new(previous.server)
            .logout(&previous.refresh_token)
            .await;
    }
    let file = session::from_login(
        app.anonymous.base_url(),
        &args.username,
        answer.basic_token,
        answer.refresh_token,
    );
    file.save(&app.state)?;
    app.out.data(&json!({
        "username": file.username,
        "organization_id": file.organization_id,
        "server": file.server,
        "session_file": app.state.session_file(),
    }));
    app.out.summary(format!(
        "logged in as {} on {} (tokens kept in {})",
        file.username,
        file.server,
        app.state.session_file().display()
    ));
    Ok(0)
}

pub async fn logout(app: &App) -> CliResult<i32> {
    let Some(file) = SessionFile::load(&app.state)? else {
        app.out.data(&json!({"logged_out": false}));
        app.out.text("not logged in");
        return Ok(0);
    };
    // Revoke on the server the session this file belongs to (whatever URL is configured now).
    let client = Client::new(file.server.clone());
    let revoked = match client.logout(&file.refresh_token).await {
        Ok(()) => true,
        // Gone already (expired, or logged out elsewhere): forgetting it locally is all there is.
        Err(e)
            if e.code().is_some_and(|c| {
                matches!(
                    c,
                    distributor_api::ErrorCode::RefreshTokenNotFound
                        | distributor_api::ErrorCode::InvalidToken
                )
            }) =>
        {
            false
        }
        Err(e) => {
            return Err(CliError::api("cannot log out on the server", e).with_hint(
                "the tokens were kept; retry when the server is reachable \
                 (or delete the session file to forget them)",
            ))
        }
    };
    SessionFile::remove(&app.state)?;
    app.out
        .data(&json!({"logged_out": true, "revoked_on_server": revoked}));
    app.out
        .text(format!("logged out {} from {}", file.username, file.server));
    Ok(0)
}

pub async fn whoami(app: &App) -> CliResult<i32> {
    let mut session = app.session()?;
    // A cheap authenticated call proves the session is alive (renewing the token if needed).
    let mine = session
        .call("cannot check the session", async |c: &Client| {
            c.my_programs(&PageQuery::new(1, 1)).await
        })
        .await?;
    let file = session.file();
    app.out.data(&json!({
        "username": file.username,
        "organization_id": file.organization_id,
        "server": file.server,
        "programs": mine.total_elements_amount,
        "session_file": session.state_path(),
        "basic_token_expires_at": file.basic_expires_at,
        "refresh_token_expires_at": file.refresh_expires_at,
    }));
    let organization = file
        .organization_id
        .map_or_else(|| "?".to_string(), |id| id.to_string());
    app.out.text(format!(
        "{} (organization {organization}) on {}\n{} program(s); session valid{}",
        file.username,
        file.server,
        mine.total_elements_amount,
        file.refresh_expires_at
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default()
    ));
    Ok(0)
}

/// The password from `--password`/`UPLOADER_CLIENT_PASSWORD`, stdin, or a prompt without echo.
fn read_password(source: &PasswordSource, confirm: bool) -> CliResult<String> {
    let password = if let Some(password) = &source.password {
        password.clone()
    } else if source.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::new(format!("cannot read the password from stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = prompt_hidden("Password: ")?;
        if confirm && prompt_hidden("Repeat the password: ")? != first {
            return Err(CliError::new("the two passwords differ"));
        }
        first
    };
    if password.is_empty() {
        return Err(CliError::new("the password is empty")
            .with_hint("give it with --password-stdin, UPLOADER_CLIENT_PASSWORD, or at the prompt")
            .with_code(exit::AUTH));
    }
    Ok(password)
}

/// Reads a line from the terminal with echo turned off.
fn prompt_hidden(prompt: &str) -> CliResult<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let _echo = EchoOff::new();
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    drop(_echo);
    eprintln!();
    read.map_err(|e| CliError::new(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Turns terminal echo off for its lifetime (no-op when stdin is not a terminal).
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> Self {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own.
            unsafe {
                let mut term: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut term) != 0 {
                    return EchoOff { saved: None };
                }
                let saved = term;
                term.c_lflag &= !libc::ECHO;
                term.c_lflag |= libc::ECHONL;
                if libc::tcsetattr(0, libc::TCSANOW, &term) != 0 {
                    return EchoOff { saved: None };
                }
                EchoOff { saved: Some(saved) }
            }
        }
        #[cfg(not(unix))]
        EchoOff {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = self.saved {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &saved);
            }
        }
    }
}
