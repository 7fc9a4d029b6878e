//! Values that have been checked at the edge: once built, they cannot hold bad data.

pub mod archive;
pub mod fields;
pub mod pagination;
pub mod text;

use uuid::Uuid;

/// A validation failure; the message says what is wrong with which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Parses an id from a path segment. Ids are UUIDs; anything else cannot name an existing row, so
/// callers answer it with the resource's not-found error.
pub fn parse_id(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok()
}

impl From<Invalid> for crate::error::ApiError {
    fn from(invalid: Invalid) -> Self {
        crate::error::ApiError::invalid_request(invalid.0)
    }
}
