//! The uploads' multipart bodies: a `file` part and a `data` part (JSON text).

use actix_multipart::{Multipart, MultipartError};
use bytes::{Bytes, BytesMut};
use distributor_api::ErrorCode;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The two parts of an upload.
pub struct Upload<T> {
    pub file: Bytes,
    pub data: T,
}

/// After a part goes over its limit, the rest of the body is still read (and dropped) up to this
/// many bytes, so the client gets the 413 answer instead of a connection reset.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads `file` (at most `file_limit` bytes) and `data` (at most `data_limit` bytes, parsed as
/// JSON into `T`). Any other part, a missing part or a repeated part is an `INVALID_REQUEST`.
pub async fn read<T: DeserializeOwned>(
    mut body: Multipart,
    file_limit: usize,
    data_limit: usize,
) -> Result<Upload<T>, ApiError> {
    let mut file: Option<Bytes> = None;
    let mut data: Option<Bytes> = None;
    let mut too_large: Option<ApiError> = None;
    let mut drained = 0usize;
    while let Some(field) = body.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_string();
        let limit = match name.as_str() {
            "file" => file_limit,
            "data" => data_limit,
            other if too_large.is_none() => {
                return Err(ApiError::invalid_request(format!(
                    "unexpected multipart field `{other}`; expected `file` and `data`"
                )))
            }
            _ => 0,
        };
        let mut buffer = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            if too_large.is_some() {
                drained += chunk.len();
                if drained > DRAIN_LIMIT {
                    break;
                }
                continue;
            }
            if buffer.len() + chunk.len() > limit {
                too_large = Some(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the `{name}` part is larger than {limit} bytes"),
                ));
                buffer = BytesMut::new();
                continue;
            }
            buffer.extend_from_slice(&chunk);
        }
        if too_large.is_some() {
            if drained > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        let slot = if name == "file" { &mut file } else { &mut data };
        if slot.is_some() {
            return Err(ApiError::invalid_request(format!(
                "the multipart field `{name}` appears twice"
            )));
        }
        *slot = Some(buffer.freeze());
    }
    if let Some(error) = too_large {
        return Err(error);
    }
    let file =
        file.ok_or_else(|| ApiError::invalid_request("the multipart field `file` is missing"))?;
    let data =
        data.ok_or_else(|| ApiError::invalid_request("the multipart field `data` is missing"))?;
    let data = serde_json::from_slice(&data).map_err(|e| {
        ApiError::invalid_request(format!("the `data` field is not valid JSON: {e}"))
    })?;
    Ok(Upload { file, data })
}

fn multipart_error(error: MultipartError) -> ApiError {
    match error {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => ApiError::invalid_request(
            "the body must be multipart/form-data with a `file` part and a `data` part",
        ),
        MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
            ApiError::new(ErrorCode::PayloadTooLarge, "the body is too large")
        }
        other => ApiError::invalid_request(format!("malformed multipart body: {other}")),
    }
}
