//! `GET /health` and `GET /openapi.json`.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use distributor_api::Health;

use crate::error::ApiError;
use crate::startup::AppState;

/// The OpenAPI document of the whole API, kept in the repository next to the crate.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// Answers `ok` when the database and the object storage both answer.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.run(|conn| conn.batch_execute("SELECT 1")).await?;
    state.storage.check().await?;
    Ok(super::success(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI_JSON)
}
