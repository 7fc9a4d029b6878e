//! Donor signatures at the edge (the scheme is `distributor_api::signing`): a request with the
//! four signature headers is checked here before its route acts on it; one without any is
//! anonymous.
//!
//! The check, cheapest first: all four headers present and well formed, the timestamp within
//! [`MAX_CLOCK_SKEW_SECS`] of the server's clock (`STALE_SIGNATURE`), the Ed25519 signature of the
//! method, path, body hash, timestamp, nonce and key (`INVALID_SIGNATURE`), then the nonce
//! recorded in the database until the timestamp is stale, so that every replica refuses a second
//! use of it (`REPLAYED_SIGNATURE`).

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::HttpRequest;
use distributor_api::signing::{
    self, KEY_HEADER, MAX_CLOCK_SKEW_SECS, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use distributor_api::ErrorCode;

use crate::db::models::DonorRow;
use crate::db::now_millis;
use crate::db::queries::donors;
use crate::error::ApiError;
use crate::startup::AppState;

/// How often (in signed requests) this replica deletes every expired nonce.
const SWEEP_EVERY: u64 = 256;

/// Who signed a request.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The signing key, hex.
    pub key: String,
    /// The donor registered with that key, if any.
    pub donor: Option<DonorRow>,
}

impl Signer {
    /// The registered donor, or the error that says the key must be registered first.
    pub fn registered(self) -> Result<DonorRow, ApiError> {
        self.donor.ok_or_else(|| {
            invalid(
                "no donor has this key: register it first (`executor-client donor init`), or \
                 send the request unsigned to donate anonymously",
            )
        })
    }
}

/// The signature headers as sent.
struct Headers {
    key: String,
    timestamp: String,
    nonce: String,
    signature: String,
}

/// Checks the request's donor signature over `body_hash`; `Ok(None)` when it has none.
pub async fn check(
    state: &AppState,
    request: &HttpRequest,
    body_hash: &[u8; 32],
) -> Result<Option<Signer>, ApiError> {
    let Some(headers) = headers(request)? else {
        return Ok(None);
    };
    let key =
        signing::parse_key(&headers.key).map_err(|e| invalid(&format!("`{KEY_HEADER}`: {e}")))?;
    let timestamp = fresh_timestamp(&headers.timestamp)?;
    check_nonce_form(&headers.nonce)?;
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.path(), |p| p.as_str());
    let signed = signing::message(
        request.method().as_str(),
        path,
        body_hash,
        timestamp,
        &headers.nonce,
        &key,
    );
    signing::verify(&key, &signed, &headers.signature).map_err(|e| invalid(&e.to_string()))?;
    record(state, signing::hex(&key), headers.nonce, timestamp).await
}

/// Records the nonce and finds the key's donor (noting it was seen).
async fn record(
    state: &AppState,
    key: String,
    nonce: String,
    timestamp: i64,
) -> Result<Option<Signer>, ApiError> {
    let expires_at = (timestamp + MAX_CLOCK_SKEW_SECS).saturating_mul(1000);
    let now = now_millis();
    // Every so often, the nonces of keys that stopped signing are forgotten too.
    static CHECKS: AtomicU64 = AtomicU64::new(0);
    let sweep = CHECKS.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1;
    let lookup = key.clone();
    let outcome = state
        .db
        .write(move |conn| {
            if sweep {
                donors::sweep_nonces(conn, now)?;
            }
            if !donors::use_nonce(conn, &lookup, &nonce, expires_at, now)? {
                return Ok(None);
            }
            let donor = donors::find_by_key(conn, &lookup)?;
            if let Some(donor) = &donor {
                donors::touch(conn, &donor.id, now)?;
            }
            Ok(Some(donor))
        })
        .await?;
    match outcome {
        None => Err(ApiError::new(
            ErrorCode::ReplayedSignature,
            "this nonce was used already with this key: sign every request with a new nonce",
        )),
        Some(donor) => Ok(Some(Signer { key, donor })),
    }
}

/// The four headers; `None` when there are none, an error when only some are there.
fn headers(request: &HttpRequest) -> Result<Option<Headers>, ApiError> {
    let names = [KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER];
    let values: Vec<Option<&str>> = names
        .iter()
        .map(|name| {
            request
                .headers()
                .get(*name)
                .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        })
        .collect();
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(invalid(&format!(
            "a signed request needs all four donor headers; missing: {}",
            missing.join(", ")
        )));
    }
    let value = |i: usize| values[i].unwrap_or_default().trim().to_string();
    Ok(Some(Headers {
        key: value(0),
        timestamp: value(1),
        nonce: value(2),
        signature: value(3),
    }))
}

/// The timestamp, if it is within the allowed skew of the server's clock.
fn fresh_timestamp(text: &str) -> Result<i64, ApiError> {
    let timestamp: i64 = text.parse().map_err(|_| {
        invalid(&format!(
            "`{TIMESTAMP_HEADER}` must be seconds since the Unix epoch"
        ))
    })?;
    let now = now_millis() / 1000;
    if (timestamp - now).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::new(
            ErrorCode::StaleSignature,
            format!(
                "the request was signed at {timestamp}, {} s from the server's clock ({now}); \
                 at most {MAX_CLOCK_SKEW_SECS} s are allowed: check the clock and sign again",
                (timestamp - now).abs()
            ),
        ));
    }
    Ok(timestamp)
}

fn check_nonce_form(nonce: &str) -> Result<(), ApiError> {
    let hex = nonce.bytes().all(|b| b.is_ascii_hexdigit());
    if !(16..=64).contains(&nonce.len()) || !hex {
        return Err(invalid(&format!(
            "`{NONCE_HEADER}` must be 16 to 64 hex digits"
        )));
    }
    Ok(())
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidSignature, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_far_from_the_clock_are_stale() {
        let now = now_millis() / 1000;
        assert_eq!(fresh_timestamp(&now.to_string()).unwrap(), now);
        for off in [MAX_CLOCK_SKEW_SECS + 5, -MAX_CLOCK_SKEW_SECS - 5] {
            let error = fresh_timestamp(&(now + off).to_string()).unwrap_err();
            assert_eq!(error.code, ErrorCode::StaleSignature);
        }
        assert_eq!(
            fresh_timestamp("soon").unwrap_err().code,
            ErrorCode::InvalidSignature
        );
    }

    #[test]
    fn nonces_are_hex_of_bounded_length() {
        assert!(check_nonce_form("0123456789abcdef").is_ok());
        assert!(check_nonce_form("0123").is_err());
        assert!(check_nonce_form(&"a".repeat(65)).is_err());
        assert!(check_nonce_form("0123456789abcdeg").is_err());
    }
}
