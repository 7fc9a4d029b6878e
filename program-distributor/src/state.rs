//! What every request handler shares ([`AppState`]): the database, the object store, the limits,
//! the metrics, the caches of immutable program files, and the clock of the reservations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::auth::TokenKeys;
use crate::configuration::Limits;
use crate::db::Db;
use crate::storage::ObjectStore;

/// What every request handler shares.
pub struct AppState {
    pub db: Db,
    pub storage: Arc<dyn ObjectStore>,
    pub tokens: TokenKeys,
    pub limits: Limits,
    pub rates: crate::rate_limit::RateLimits,
    pub metrics: crate::metrics::Metrics,
    pub programs: ProgramCache,
    /// The time reservations, their locks and the input groups' states are judged by.
    pub clock: Arc<Clock>,
    /// The guest-code template tar served by `GET /program/template`.
    pub template: Bytes,
    /// An argon2 hash of a random password, verified against when a username is unknown so that
    /// a login takes as long whether the username exists or not.
    pub decoy_hash: String,
}

/// Compiled programs by id, so that reservations do not fetch the same blob again and again, and
/// proof verification does not parse the same program again and again. Safe with several
/// replicas: a program's content never changes after upload and ids are never reused, and every
/// use of an entry follows a database lookup that finds the program (or its input group), so an
/// entry of a program deleted through another replica is never served. A deletion through this
/// replica evicts its entries at once. Both maps are bounded and simply cleared when full.
#[derive(Default)]
pub struct ProgramCache {
    json: Mutex<HashMap<String, Bytes>>,
    compiled: Mutex<HashMap<String, Arc<cairo_stark::CompiledProgram>>>,
}

const PROGRAM_CACHE_ENTRIES: usize = 64;

impl ProgramCache {
    /// The compiled program's JSON.
    pub fn json(&self, id: &str) -> Option<Bytes> {
        self.json
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub fn insert_json(&self, id: &str, bytes: Bytes) {
        let mut entries = self.json.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= PROGRAM_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(id.to_string(), bytes);
    }

    /// The parsed compiled program (what proofs are verified against).
    pub fn compiled(&self, id: &str) -> Option<Arc<cairo_stark::CompiledProgram>> {
        self.compiled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub fn insert_compiled(&self, id: &str, program: Arc<cairo_stark::CompiledProgram>) {
        let mut entries = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= PROGRAM_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(id.to_string(), program);
    }

    pub fn remove(&self, id: &str) {
        self.json
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        self.compiled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// The time of the reservation logic (locks, their expiry, proof times): the system clock plus an
/// offset that only tests move, to let locks expire without waiting for them. Nothing a client
/// sends moves it.
#[derive(Debug, Default)]
pub struct Clock {
    offset_millis: AtomicI64,
}

impl Clock {
    /// Milliseconds since the Unix epoch, as this server's reservations see them.
    pub fn now_millis(&self) -> i64 {
        crate::db::now_millis().saturating_add(self.offset_millis.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `by` (tests).
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_millis.fetch_add(millis, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_runs_ahead_of_the_system_clock() {
        let clock = Clock::default();
        let before = crate::db::now_millis();
        assert!(clock.now_millis() >= before);
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_millis() >= before + 3_600_000);
    }
}
