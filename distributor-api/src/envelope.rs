//! The JSON envelope every non-file response travels in.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// `{"status":"success","data":…}` or `{"status":"error","error_code":…,"error_message":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Envelope<T> {
    Success { data: T },
    Error(ErrorBody),
}

/// The body of an error response (the `status` field is added by [`Envelope`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error_code: ErrorCode,
    pub error_message: String,
}

impl<T> Envelope<T> {
    pub fn success(data: T) -> Self {
        Envelope::Success { data }
    }

    pub fn error(error_code: ErrorCode, error_message: impl Into<String>) -> Self {
        Envelope::Error(ErrorBody {
            error_code,
            error_message: error_message.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_with_null_data_has_the_specified_shape() {
        let value = serde_json::to_value(Envelope::success(())).unwrap();
        assert_eq!(value, json!({"status": "success", "data": null}));
    }

    #[test]
    fn error_has_the_specified_shape() {
        let value = serde_json::to_value(Envelope::<()>::error(ErrorCode::InvalidToken, "expired"))
            .unwrap();
        assert_eq!(
            value,
            json!({"status": "error", "error_code": "INVALID_TOKEN", "error_message": "expired"})
        );
        let back: Envelope<()> = serde_json::from_value(value).unwrap();
        assert_eq!(back, Envelope::error(ErrorCode::InvalidToken, "expired"));
    }
}
