//! The logged-in session: tokens kept in `session.json` (0600) and a client that renews the
//! basic token by itself.
//!
//! Renewal happens before a call when the basic token's own `exp` claim says it has expired (or
//! is about to), and after a call the server refused with `INVALID_TOKEN`: the refresh token buys
//! a new basic token and the call is retried once. When the refresh token itself is refused the
//! session is over and the user is told to log in again.

use std::path::PathBuf;

use base64::Engine;
use distributor_api::{Client, ClientError, ErrorCode, Token};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CliError, CliResult};
use crate::state::{write_atomic, StateDir};

/// Renew this many seconds before the basic token's expiry, to absorb clock skew and latency.
const RENEW_MARGIN_SECONDS: i64 = 10;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionFile {
    pub server: String,
    pub username: String,
    /// The organization id (the tokens' subject).
    pub organization_id: Option<Uuid>,
    pub basic_token: Token,
    pub refresh_token: Token,
    /// Unix seconds, from the basic token's `exp` claim.
    pub basic_expires_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
    pub logged_in_at: String,
}

impl SessionFile {
    pub fn load(state: &StateDir) -> CliResult<Option<Self>> {
        let path = state.session_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                CliError::new(format!(
                    "the session file {} is damaged: {e}",
                    path.display()
                ))
                .with_hint("run `uploader-client login` again")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::io("read", &path, e)),
        }
    }

    pub fn save(&self, state: &StateDir) -> CliResult<()> {
        state.ensure()?;
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| CliError::new(format!("cannot encode the session: {e}")))?;
        write_atomic(&state.session_file(), &bytes, true)
    }

    pub fn remove(state: &StateDir) -> CliResult<bool> {
        let path = state.session_file();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(CliError::io("remove", &path, e)),
        }
    }

    fn set_basic(&mut self, token: Token) {
        let claims = Claims::peek(&token.token);
        self.basic_expires_at = claims.as_ref().and_then(|c| c.exp);
        self.basic_token = token;
    }
}

/// The claims the client reads out of a token (without checking its signature: only the server
/// can, and it does; the client merely uses them to know when to renew and who it is).
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: Option<String>,
    pub exp: Option<i64>,
}

impl Claims {
    pub fn peek(token: &str) -> Option<Claims> {
        let payload = token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Builds the session file from a login answer.
pub fn from_login(
    server: &str,
    username: &str,
    basic_token: Token,
    refresh_token: Token,
) -> SessionFile {
    let basic = Claims::peek(&basic_token.token);
    let refresh = Claims::peek(&refresh_token.token);
    SessionFile {
        server: server.to_string(),
        username: username.to_string(),
        organization_id: basic
            .as_ref()
            .and_then(|c| c.sub.as_deref())
            .and_then(|s| Uuid::parse_str(s).ok()),
        basic_expires_at: basic.and_then(|c| c.exp),
        refresh_expires_at: refresh.and_then(|c| c.exp),
        basic_token,
        refresh_token,
        logged_in_at: crate::ledger::now(),
    }
}

/// A client that carries the session's basic token and renews it when needed.
pub struct Session {
    anonymous: Client,
    file: SessionFile,
    state: StateDir,
}

impl Session {
    /// The session for `server`, or a "not logged in" error.
    pub fn open(state: &StateDir, anonymous: Client) -> CliResult<Self> {
        let file = SessionFile::load(state)?.ok_or_else(CliError::not_logged_in)?;
        if file.server != anonymous.base_url() {
            return Err(CliError::new(format!(
                "not logged in to {} (the session is for {})",
                anonymous.base_url(),
                file.server
            ))
            .with_hint("run `uploader-client login`, or point --server at the other server")
            .with_code(crate::error::exit::AUTH));
        }
        Ok(Session {
            anonymous,
            file,
            state: state.clone(),
        })
    }

    pub fn file(&self) -> &SessionFile {
        &self.file
    }

    fn authed(&self) -> Client {
        self.anonymous
            .with_token(self.file.basic_token.token.clone())
    }

    fn expired(&self) -> bool {
        let now = chrono::Utc::now().timestamp();
        self.file
            .basic_expires_at
            .is_some_and(|exp| exp <= now + RENEW_MARGIN_SECONDS)
    }

    /// Buys a new basic token with the refresh token and keeps it.
    pub async fn refresh(&mut self) -> CliResult<()> {
        match self
            .anonymous
            .refresh_token(&self.file.refresh_token.token)
            .await
        {
            Ok(token) => {
                self.file.set_basic(token);
                self.file.save(&self.state)
            }
            Err(ClientError::Api {
                code: ErrorCode::InvalidToken | ErrorCode::RefreshTokenNotFound,
                message,
                ..
            }) => Err(CliError::session_expired(&message)),
            Err(e) => Err(CliError::api("cannot renew the session", e)),
        }
    }

    /// Runs `call` with the basic token, renewing it before (if it has expired) or after the
    /// server refused it (once); server errors become CLI errors prefixed with `what`.
    pub async fn call<T>(
        &mut self,
        what: &str,
        call: impl AsyncFn(&Client) -> Result<T, ClientError>,
    ) -> CliResult<T> {
        self.try_call(call)
            .await?
            .map_err(|e| CliError::api(what, e))
    }

    /// Same as [`Session::call`], handing back the server's error (for callers that handle
    /// some codes themselves). The outer error is a failed renewal.
    pub async fn try_call<T>(
        &mut self,
        call: impl AsyncFn(&Client) -> Result<T, ClientError>,
    ) -> CliResult<Result<T, ClientError>> {
        if self.expired() {
            self.refresh().await?;
        }
        match call(&self.authed()).await {
            Err(ClientError::Api {
                code: ErrorCode::InvalidToken,
                ..
            }) => {
                self.refresh().await?;
                Ok(call(&self.authed()).await)
            }
            other => Ok(other),
        }
    }

    pub fn state_path(&self) -> PathBuf {
        self.state.session_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"7d9f2a1e-2b8c-4a55-9a53-0a9e1f3f7c11","exp":1700000000}"#);
        let claims = Claims::peek(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims.exp, Some(1_700_000_000));
        assert!(claims.sub.unwrap().starts_with("7d9f"));
        assert!(Claims::peek("garbage").is_none());
        assert!(Claims::peek("a.!!!.c").is_none());
    }
}
