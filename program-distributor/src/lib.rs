//! The program-distributor server: organizations publish compiled Cairo programs and input groups,
//! donors reserve input groups and send back STARK proofs, organizations collect and confirm them.
//!
//! Code map (requests flow top to bottom):
//! - [`routes`]: the HTTP edge, one module per resource, and the route table.
//! - [`auth`]: passwords, tokens, the `token` header extractor; [`signature`]: donor signatures.
//! - [`domain`]: values checked at the edge (names, pagination, program tars).
//! - [`db`]: diesel on MySQL/MariaDB or SQLite (the reservation lives in `db::queries::input_groups`).
//! - [`storage`]: blobs in S3 or a local directory, behind one trait; [`sweeper`]: removes the
//!   objects no row refers to (what a crash between an object and its row leaves).
//! - [`configuration`], [`startup`], [`state`], [`telemetry`]: settings, wiring, what the
//!   handlers share, logs; [`body_deadline`]:
//!   the request-body timeout; [`rate_limit`]: per-client rate limits, the password-hashing pool.
//!
//! Invariants: an input group is never handed out to two callers while its reservation is live;
//! a proof is accepted once; every error a client can cause is answered in the error envelope
//! with a documented code (see `API.md`), never a panic or a bare 500.

pub mod auth;
pub mod body_deadline;
pub mod configuration;
pub mod db;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod rate_limit;
pub mod routes;
pub mod signature;
pub mod startup;
pub mod state;
pub mod storage;
pub mod sweeper;
pub mod telemetry;
pub mod template;
#[cfg(feature = "test-support")]
pub mod testing;
