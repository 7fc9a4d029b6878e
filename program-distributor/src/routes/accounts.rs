//! `/account/...`: registration, login, tokens, the list of organizations.

use actix_web::{web, HttpRequest, HttpResponse};
use distributor_api::{
    DeleteRefreshTokenRequest, ErrorCode, LoginRequest, LoginResponse, OrganizationsPage,
    PageQuery, RefreshTokenRequest, RegisterRequest,
};
use uuid::Uuid;

use super::{convert, success};
use crate::auth;
use crate::db::models::{AccountRow, RefreshTokenRow};
use crate::db::now_millis;
use crate::db::queries::accounts;
use crate::domain::fields::{name_prefix, Description, Name, NewPassword, Username};
use crate::domain::pagination::Pagination;
use crate::domain::text;
use crate::error::ApiError;
use crate::startup::AppState;

pub async fn register(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    state.rates.register(&request)?;
    let body = body.into_inner();
    let username = Username::parse(&body.username)?;
    let password = NewPassword::parse(&body.password)?;
    let name = Name::parse("name", &body.name)?;
    let description = Description::parse(&body.description)?;
    let _slot = state.rates.hashing_slot().await?;
    let password_hash = web::block(move || auth::hash_password(password.as_str()))
        .await
        .map_err(|e| ApiError::internal("password hashing task failed", e))??;
    let row = AccountRow {
        id: Uuid::new_v4().to_string(),
        username_key: username.key(),
        username: username.as_str().to_string(),
        password_hash,
        name: name.into_inner(),
        description: description.into_inner(),
        created_at: now_millis(),
    };
    let inserted = state
        .db
        .write(move |conn| accounts::insert(conn, &row))
        .await?;
    if !inserted {
        return Err(ApiError::new(
            ErrorCode::UsernameAlreadyExists,
            "this username is taken",
        ));
    }
    Ok(success(()))
}

pub async fn login(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    // Looked up (and rate-limited) by key: a username matches whatever its case or Unicode form.
    let username = text::unique_key(&username);
    state.rates.login(&request, &username)?;
    let account = state
        .db
        .run(move |conn| accounts::find_by_username(conn, &username))
        .await?;
    // Unknown usernames cost the same argon2 verification as known ones.
    let stored = account
        .as_ref()
        .map_or_else(|| state.decoy_hash.clone(), |a| a.password_hash.clone());
    let slot = state.rates.hashing_slot().await?;
    let matches = web::block(move || auth::verify_password(&password, &stored))
        .await
        .map_err(|e| ApiError::internal("password verification task failed", e))?;
    drop(slot);
    let account = match account {
        Some(account) if matches => account,
        _ => {
            return Err(ApiError::new(
                ErrorCode::WrongCredentials,
                "wrong username or password",
            ))
        }
    };
    let refresh = state.tokens.issue_refresh(&account.id)?;
    let basic = state
        .tokens
        .issue_basic(&account.id, &refresh.token.token_id.to_string())?;
    let now = now_millis();
    let row = RefreshTokenRow {
        id: refresh.token.token_id.to_string(),
        account_id: account.id.clone(),
        expires_at: refresh.expires_at.saturating_mul(1000),
    };
    state
        .db
        .write(move |conn| {
            accounts::delete_expired_refresh_tokens(conn, &row.account_id, now)?;
            accounts::insert_refresh_token(conn, &row)
        })
        .await?;
    Ok(success(LoginResponse {
        basic_token: basic.token,
        refresh_token: refresh.token,
    }))
}

/// A new basic token for a refresh token that is valid and not logged out.
pub async fn refresh_token(
    state: web::Data<AppState>,
    body: web::Json<RefreshTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let claims = state.tokens.decode_refresh(body.refresh_token.trim())?;
    let (id, account) = (claims.jti.clone(), claims.sub.clone());
    let now = now_millis();
    let live = state
        .db
        .run(move |conn| accounts::session_is_live(conn, &id, &account, now))
        .await?;
    if !live {
        return Err(ApiError::invalid_token(
            "this refresh token was revoked (logged out) or has expired",
        ));
    }
    let basic = state.tokens.issue_basic(&claims.sub, &claims.jti)?;
    Ok(success(basic.token))
}

/// Logs out: deletes the refresh token, which also revokes the basic tokens issued from it. The
/// caller proves possession of the refresh token by sending it whole: its id alone is readable in
/// every basic token of the session.
pub async fn logout(
    state: web::Data<AppState>,
    body: web::Json<DeleteRefreshTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let claims = state.tokens.decode_refresh(body.refresh_token.trim())?;
    if claims.jti != body.token_id.to_string() {
        return Err(ApiError::invalid_token(
            "`refresh_token` is not the refresh token whose id is `token_id`",
        ));
    }
    let deleted = state
        .db
        .write(move |conn| accounts::delete_refresh_token(conn, &claims.jti, &claims.sub))
        .await?;
    if !deleted {
        return Err(ApiError::new(
            ErrorCode::RefreshTokenNotFound,
            "no refresh token with this id (never issued or already logged out)",
        ));
    }
    Ok(success(()))
}

pub async fn organizations(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let window = Pagination::parse(query.limit, query.page)?.window();
    let prefix = name_prefix(query.name_filter.as_deref())?;
    let (rows, total) = state
        .db
        .run(move |conn| accounts::list(conn, prefix.as_deref(), window))
        .await?;
    Ok(success(OrganizationsPage {
        organizations: convert::all(rows, convert::organization)?,
        total_elements_amount: total,
    }))
}
