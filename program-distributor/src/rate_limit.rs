//! Per-client rate limits (GCRA, `governor`) and the bounded pool of password-hashing work, so
//! that a flood of logins, registrations, uploads or reservations cannot take the server's CPU
//! or memory. A refused request is answered `429 TOO_MANY_REQUESTS` with `Retry-After`.
//!
//! Clients are told apart by the peer address of the connection, or, behind a reverse proxy when
//! `TRUST_X_FORWARDED_FOR` is set, by the address the proxy appended to `X-Forwarded-For`; login
//! is limited per username as well, checked only after the address
//! passed, so that the per-username table grows no faster than the per-address limits allow.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;
use distributor_api::ErrorCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::configuration::RateSettings;
use crate::error::ApiError;

/// One keyed limit: at most `per_minute` requests a minute per key, in bursts of as many.
struct Keyed<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    what: &'static str,
    checks: AtomicU64,
}

/// How often (in checks) the tables forget keys that are back to a full quota.
const FORGET_EVERY: u64 = 1024;

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(per_minute: u32, what: &'static str) -> Self {
        Keyed {
            limiter: NonZeroU32::new(per_minute)
                .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
            what,
            checks: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            too_many(self.what, wait)
        })
    }
}

fn too_many(what: &str, wait: Duration) -> ApiError {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(
        ErrorCode::TooManyRequests,
        format!("too many {what}; retry in {seconds} s"),
    )
    .retry_after(seconds)
}

/// A bounded pool of expensive work: at most `size` at once, a caller waits for a slot at most
/// `wait`, then gets `429` (the server is busy with this kind of work).
struct Pool {
    slots: Semaphore,
    wait: Duration,
    what: &'static str,
}

impl Pool {
    fn new(size: usize, wait: Duration, what: &'static str) -> Self {
        Pool {
            slots: Semaphore::new(size.max(1)),
            wait,
            what,
        }
    }

    async fn slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(self.wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(too_many(self.what, Duration::from_secs(1))),
        }
    }
}

/// Every limit of the server.
pub struct RateLimits {
    login_per_ip: Keyed<IpAddr>,
    login_per_username: Keyed<String>,
    register_per_ip: Keyed<IpAddr>,
    uploads_per_ip: Keyed<IpAddr>,
    reservations_per_ip: Keyed<IpAddr>,
    hashing: Pool,
    replays: Pool,
    trust_forwarded_for: bool,
}

impl RateLimits {
    pub fn new(settings: &RateSettings) -> Self {
        RateLimits {
            login_per_ip: Keyed::new(settings.login_per_ip, "logins from this address"),
            login_per_username: Keyed::new(settings.login_per_username, "logins of this username"),
            register_per_ip: Keyed::new(
                settings.register_per_ip,
                "registrations from this address",
            ),
            uploads_per_ip: Keyed::new(settings.uploads_per_ip, "uploads from this address"),
            reservations_per_ip: Keyed::new(
                settings.reservations_per_ip,
                "reservations from this address",
            ),
            hashing: Pool::new(
                settings.password_hashing,
                settings.password_hashing_wait,
                "password checks in progress",
            ),
            replays: Pool::new(
                settings.execution_replays,
                settings.execution_replays_wait,
                "execution replays in progress",
            ),
            trust_forwarded_for: settings.trust_forwarded_for,
        }
    }

    pub fn login(&self, request: &HttpRequest, username: &str) -> Result<(), ApiError> {
        self.login_per_ip.check(&self.client(request))?;
        self.login_per_username.check(&username.to_lowercase())
    }

    pub fn register(&self, request: &HttpRequest) -> Result<(), ApiError> {
        self.register_per_ip.check(&self.client(request))
    }

    /// Proof and execution uploads.
    pub fn upload(&self, request: &HttpRequest) -> Result<(), ApiError> {
        self.uploads_per_ip.check(&self.client(request))
    }

    pub fn reservation(&self, request: &HttpRequest) -> Result<(), ApiError> {
        self.reservations_per_ip.check(&self.client(request))
    }

    /// The client's address: the peer's, or the last one of `X-Forwarded-For` behind a trusted
    /// proxy.
    fn client(&self, request: &HttpRequest) -> IpAddr {
        let forwarded = self
            .trust_forwarded_for
            .then(|| forwarded_for(request))
            .flatten();
        forwarded.unwrap_or_else(|| peer(request))
    }

    /// A slot of the password-hashing pool (argon2 takes tens of MB and a core per hash),
    /// waited for at most the configured time.
    pub async fn hashing_slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        self.hashing.slot().await
    }

    /// A slot of the execution-replay pool (a replay takes a core for up to a second or so, and
    /// its memory), waited for at most the configured time.
    pub async fn replay_slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        self.replays.slot().await
    }
}

/// The last address of the `X-Forwarded-For` headers: the one the nearest proxy added.
fn forwarded_for(request: &HttpRequest) -> Option<IpAddr> {
    let last = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .last()?;
    last.rsplit(',').next()?.trim().parse().ok()
}

/// The connection's peer address (unspecified when the connection has none, e.g. in unit tests).
fn peer(request: &HttpRequest) -> IpAddr {
    request
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_refuses_with_retry_after_and_frees_its_slots() {
        let pool = Pool::new(2, Duration::ZERO, "replays in progress");
        let first = pool.slot().await.unwrap();
        let _second = pool.slot().await.unwrap();
        let refused = pool.slot().await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyRequests);
        assert_eq!(refused.retry_after, Some(1));
        assert!(refused.message.contains("replays in progress"), "{refused}");
        drop(first);
        let _third = pool.slot().await.unwrap();
    }

    #[test]
    fn behind_a_trusted_proxy_clients_are_told_apart_by_the_address_it_added() {
        use actix_web::test::TestRequest;
        let peer: std::net::SocketAddr = "10.0.0.2:4000".parse().unwrap();
        let request = TestRequest::default()
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "1.2.3.4, 203.0.113.9"))
            .to_http_request();
        let trusting = RateLimits::new(&RateSettings {
            trust_forwarded_for: true,
            ..RateSettings::default()
        });
        assert_eq!(
            trusting.client(&request),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let direct = RateLimits::new(&RateSettings::default());
        assert_eq!(direct.client(&request), peer.ip());
        let garbled = TestRequest::default()
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "not an address"))
            .to_http_request();
        assert_eq!(trusting.client(&garbled), peer.ip());
    }

    #[tokio::test]
    async fn execution_replays_have_their_own_pool() {
        let limits = RateLimits::new(&RateSettings {
            password_hashing: 1,
            execution_replays: 1,
            password_hashing_wait: Duration::ZERO,
            execution_replays_wait: Duration::ZERO,
            ..RateSettings::default()
        });
        let _hashing = limits.hashing_slot().await.unwrap();
        let replay = limits.replay_slot().await.unwrap();
        let refused = limits.replay_slot().await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyRequests);
        drop(replay);
        let _again = limits.replay_slot().await.unwrap();
    }
}
