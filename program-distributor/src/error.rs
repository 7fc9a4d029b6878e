//! Errors as the client sees them: an [`ErrorCode`], its HTTP status and a message, in the
//! envelope. Faults of the server (database, storage) are logged in full and answered with a
//! generic `INTERNAL_SERVER_ERROR`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use distributor_api::{Envelope, ErrorCode};

use crate::db::DbError;
use crate::storage::StorageError;

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds for the `Retry-After` header (rate limits).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client to retry after `seconds`.
    pub fn retry_after(self, seconds: u64) -> Self {
        ApiError {
            retry_after: Some(seconds),
            ..self
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// A fault of the server: logs `what` and `error`, answers a generic message.
    pub fn internal(what: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "{what}");
        Self::new(
            ErrorCode::InternalServerError,
            "internal server error; the server log has the details",
        )
    }

    pub fn program_not_found() -> Self {
        Self::new(ErrorCode::ProgramNotFound, "no such program")
    }

    pub fn input_group_not_found() -> Self {
        Self::new(
            ErrorCode::InputGroupNotFound,
            "no such input group in this program",
        )
    }

    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(Envelope::<()>::error(self.code, &self.message))
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        if error.is_storage_full() {
            tracing::error!(%error, "the database's disk is full");
            return ApiError::new(
                ErrorCode::InsufficientStorage,
                "the server's database has no disk space left; nothing was changed (the \
                 operators must free space)",
            )
            .retry_after(FULL_STORAGE_RETRY_SECS);
        }
        ApiError::internal("database error", error)
    }
}

/// Seconds a client is told to wait when the storage is full.
const FULL_STORAGE_RETRY_SECS: u64 = 60;

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match &error {
            StorageError::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
                tracing::error!(%error, "the object storage is full");
                ApiError::new(
                    ErrorCode::InsufficientStorage,
                    "the server's storage is full; nothing was stored (deleting programs, input \
                     groups or confirmed proofs frees space)",
                )
                .retry_after(FULL_STORAGE_RETRY_SECS)
            }
            _ => ApiError::internal("object storage error", error),
        }
    }
}

/// The error code for a status that actix (or a middleware) produced on its own.
fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        404 => ErrorCode::RouteNotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        401 | 403 => ErrorCode::InvalidToken,
        400..=499 => ErrorCode::InvalidRequest,
        _ => ErrorCode::InternalServerError,
    }
}

/// Middleware hook: rewrites every error response that is not already an envelope (actix's own
/// plain-text answers to unknown routes, wrong methods, extractor failures) into one.
pub fn envelope_errors<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = code_for_status(status);
    let message = match (code, res.response().error()) {
        (ErrorCode::InternalServerError, Some(error)) => {
            tracing::error!(%error, "unhandled error");
            "internal server error; the server log has the details".to_string()
        }
        (ErrorCode::RouteNotFound, _) => format!("no route for {}", res.request().path()),
        (ErrorCode::MethodNotAllowed, _) => format!(
            "{} is not allowed on {}",
            res.request().method(),
            res.request().path()
        ),
        (_, Some(error)) => error.to_string(),
        (_, None) => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let (req, _) = res.into_parts();
    let mut response =
        HttpResponse::build(StatusCode::from_u16(code.http_status()).unwrap_or(status))
            .json(Envelope::<()>::error(code, message));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// Helper for the extractor configurations.
pub fn extractor_error(code: ErrorCode, message: String) -> actix_web::Error {
    ApiError::new(code, message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_an_enveloped_507_not_a_500() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let error = ApiError::from(StorageError::Io(full));
        assert_eq!(error.code, ErrorCode::InsufficientStorage);
        assert_eq!(error.status_code().as_u16(), 507);
        assert_eq!(error.retry_after, Some(FULL_STORAGE_RETRY_SECS));
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let error = ApiError::from(StorageError::Io(other));
        assert_eq!(error.code, ErrorCode::InternalServerError);
    }

    #[test]
    fn a_database_out_of_disk_space_is_a_507_too() {
        use diesel::result::{DatabaseErrorKind, Error};
        let failed = |message: &str| {
            DbError::Query(Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(message.to_string()),
            ))
        };
        for message in [
            "database or disk is full",
            "The table 'input_groups' is full",
        ] {
            let error = ApiError::from(failed(message));
            assert_eq!(error.code, ErrorCode::InsufficientStorage, "{message}");
        }
        let error = ApiError::from(failed("no such table: programs"));
        assert_eq!(error.code, ErrorCode::InternalServerError);
    }
}
