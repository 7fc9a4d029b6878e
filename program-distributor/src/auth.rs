//! Passwords and tokens.
//!
//! - Passwords are stored as argon2id PHC strings.
//! - A login opens a session: a refresh token (JWT signed with its own secret, lasting days) whose
//!   id is stored server-side, and a basic token (JWT, lasting minutes) that names the session.
//! - A basic token is accepted only while its session exists, so logging out (deleting the
//!   refresh token) revokes the basic tokens issued from it as well.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use distributor_api::{Token, TOKEN_HEADER};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::configuration::TokenSettings;
use crate::db::queries::accounts;
use crate::error::ApiError;
use crate::startup::AppState;

/// The claims of both token kinds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The account (organization) id.
    pub sub: String,
    /// The token's own id.
    pub jti: String,
    /// The session: the refresh token's id.
    pub sid: String,
    /// `"basic"` or `"refresh"`.
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

const BASIC: &str = "basic";
const REFRESH: &str = "refresh";

/// Signing keys and lifetimes.
#[derive(Clone)]
pub struct TokenKeys {
    basic_encoding: EncodingKey,
    basic_decoding: DecodingKey,
    refresh_encoding: EncodingKey,
    refresh_decoding: DecodingKey,
    basic_seconds: i64,
    refresh_seconds: i64,
}

/// A freshly issued token and when it expires (Unix seconds).
pub struct Issued {
    pub token: Token,
    pub expires_at: i64,
}

impl TokenKeys {
    pub fn new(settings: &TokenSettings) -> Self {
        let minutes = i64::try_from(settings.basic_minutes).unwrap_or(i64::MAX / 60);
        let days = i64::try_from(settings.refresh_days).unwrap_or(i64::MAX / 86_400);
        TokenKeys {
            basic_encoding: EncodingKey::from_secret(
                settings.basic_secret.expose_secret().as_bytes(),
            ),
            basic_decoding: DecodingKey::from_secret(
                settings.basic_secret.expose_secret().as_bytes(),
            ),
            refresh_encoding: EncodingKey::from_secret(
                settings.refresh_secret.expose_secret().as_bytes(),
            ),
            refresh_decoding: DecodingKey::from_secret(
                settings.refresh_secret.expose_secret().as_bytes(),
            ),
            basic_seconds: minutes.saturating_mul(60),
            refresh_seconds: days.saturating_mul(86_400),
        }
    }

    pub fn issue_basic(&self, account_id: &str, session_id: &str) -> Result<Issued, ApiError> {
        self.issue(account_id, session_id, None, BASIC)
    }

    /// A refresh token; its id is the session id.
    pub fn issue_refresh(&self, account_id: &str) -> Result<Issued, ApiError> {
        let id = Uuid::new_v4();
        self.issue(account_id, &id.to_string(), Some(id), REFRESH)
    }

    fn issue(
        &self,
        account_id: &str,
        session_id: &str,
        id: Option<Uuid>,
        typ: &str,
    ) -> Result<Issued, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let (key, lifetime) = match typ {
            BASIC => (&self.basic_encoding, self.basic_seconds),
            _ => (&self.refresh_encoding, self.refresh_seconds),
        };
        let token_id = id.unwrap_or_else(Uuid::new_v4);
        let claims = Claims {
            sub: account_id.to_string(),
            jti: token_id.to_string(),
            sid: session_id.to_string(),
            typ: typ.to_string(),
            iat: now,
            exp: now.saturating_add(lifetime),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|e| ApiError::internal("cannot sign a token", e))?;
        Ok(Issued {
            token: Token { token_id, token },
            expires_at: claims.exp,
        })
    }

    /// Checks signature, expiry and kind of a basic token (not its session: see [`Authenticated`]).
    pub fn decode_basic(&self, token: &str) -> Result<Claims, ApiError> {
        decode(token, &self.basic_decoding, BASIC)
    }

    /// Checks signature, expiry and kind of a refresh token (not whether it was revoked).
    pub fn decode_refresh(&self, token: &str) -> Result<Claims, ApiError> {
        decode(token, &self.refresh_decoding, REFRESH)
    }
}

fn decode(token: &str, key: &DecodingKey, typ: &str) -> Result<Claims, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::ExpiredSignature => ApiError::invalid_token("the token has expired"),
            ErrorKind::InvalidSignature => {
                ApiError::invalid_token("the token's signature is not valid")
            }
            _ => ApiError::invalid_token("the token is malformed"),
        }
    })?;
    if data.claims.typ != typ {
        return Err(ApiError::invalid_token(format!("not a {typ} token")));
    }
    Ok(data.claims)
}

/// Hashes a new password (slow on purpose: call it off the async workers).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash: PasswordHash| hash.to_string())
        .map_err(|e| ApiError::internal("cannot hash a password", e))
}

/// Checks a password against a stored hash (slow on purpose: call it off the async workers).
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// The caller of a protected route: a valid basic token of a live session in the `token` header.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub account_id: String,
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(TOKEN_HEADER)
            .map(|v| v.to_str().map(str::to_string));
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::internal("no application state", "missing"))?;
            let token = match header {
                None => return Err(ApiError::invalid_token("the `token` header is missing")),
                Some(Err(_)) => return Err(ApiError::invalid_token("the token is malformed")),
                Some(Ok(token)) => token,
            };
            let claims = state.tokens.decode_basic(token.trim())?;
            let now = crate::db::now_millis();
            let (session, account) = (claims.sid.clone(), claims.sub.clone());
            let live = state
                .db
                .run(move |conn| accounts::session_is_live(conn, &session, &account, now))
                .await?;
            if !live {
                return Err(ApiError::invalid_token(
                    "the session of this token was closed (logged out or expired)",
                ));
            }
            Ok(Authenticated {
                account_id: claims.sub,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&TokenSettings {
            basic_secret: "basic".into(),
            basic_minutes: 1,
            refresh_secret: "refresh".into(),
            refresh_days: 1,
        })
    }

    #[test]
    fn tokens_round_trip_and_kinds_do_not_mix() {
        let keys = keys();
        let refresh = keys.issue_refresh("acc").unwrap();
        let basic = keys
            .issue_basic("acc", &refresh.token.token_id.to_string())
            .unwrap();
        let claims = keys.decode_basic(&basic.token.token).unwrap();
        assert_eq!(claims.sub, "acc");
        assert_eq!(claims.sid, refresh.token.token_id.to_string());
        assert!(keys.decode_refresh(&basic.token.token).is_err());
        assert!(keys.decode_basic(&refresh.token.token).is_err());
        assert!(keys.decode_basic("not.a.jwt").is_err());
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
