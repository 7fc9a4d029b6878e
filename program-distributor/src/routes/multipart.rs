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
    /// The `data` part as sent (what a donor's signature covers).
    pub raw_data: Bytes,
}

/// Room for the multipart framing (boundaries, part headers) on top of the parts' limits.
const FRAMING_BYTES: usize = 16 * 1024;

/// Refuses a body whose `Content-Length` exceeds `parts_limit` plus the framing, before any of
/// it is read.
pub fn check_declared_length(
    request: &actix_web::HttpRequest,
    parts_limit: usize,
) -> Result<(), ApiError> {
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = parts_limit.saturating_add(FRAMING_BYTES);
    match declared {
        Some(length) if length > limit as u64 => Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body ({length} bytes) is larger than {limit} bytes"),
        )),
        _ => Ok(()),
    }
}

/// After a part goes over its limit, the rest of the body is still read (and dropped) for a
/// while, so that a client that sends it all gets the 413 answer instead of a connection reset:
/// at most this many bytes, and for at most [`DRAIN_TIME`] (a client that stalls or sends
/// forever is answered all the same).
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// The next item of `stream`, or `None` once `deadline` (if any) has passed.
async fn next_before<S: futures_util::Stream + Unpin>(
    stream: &mut S,
    deadline: Option<tokio::time::Instant>,
) -> Option<S::Item> {
    match deadline {
        None => stream.next().await,
        Some(deadline) => tokio::time::timeout_at(deadline, stream.next())
            .await
            .ok()
            .flatten(),
    }
}

/// Reads `file` (at most `file_limit` bytes) and `data` (at most `data_limit` bytes, parsed as
/// JSON into `T`). Any other part, a missing part or a repeated part is an `INVALID_REQUEST`.
/// A part is refused (`PAYLOAD_TOO_LARGE`) as soon as it goes over its limit: it is never
/// buffered beyond it.
pub async fn read<T: DeserializeOwned>(
    mut body: Multipart,
    file_limit: usize,
    data_limit: usize,
) -> Result<Upload<T>, ApiError> {
    let mut file: Option<Bytes> = None;
    let mut data: Option<Bytes> = None;
    let mut too_large: Option<ApiError> = None;
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    let mut drained = 0usize;
    while let Some(field) = next_before(&mut body, drain_deadline).await {
        let mut field = match field {
            Ok(field) => field,
            Err(_) if too_large.is_some() => break,
            Err(error) => return Err(multipart_error(error)),
        };
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
        while let Some(chunk) = next_before(&mut field, drain_deadline).await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(_) if too_large.is_some() => break,
                Err(error) => return Err(multipart_error(error)),
            };
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
                drain_deadline = Some(tokio::time::Instant::now() + DRAIN_TIME);
                buffer = BytesMut::new();
                continue;
            }
            buffer.extend_from_slice(&chunk);
        }
        if too_large.is_some() {
            let expired = drain_deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
            if drained > DRAIN_LIMIT || expired {
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
    let parsed = serde_json::from_slice(&data).map_err(|e| {
        ApiError::invalid_request(format!("the `data` field is not valid JSON: {e}"))
    })?;
    Ok(Upload {
        file,
        data: parsed,
        raw_data: data,
    })
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
