//! Black-box tests of the HTTP API: each test starts the real server on a random port, with a
//! fresh database and object store, once on MariaDB + S3 and once on the embedded default.

mod helpers;

mod accounts;
mod deletion_race;
mod errors;
mod executions;
mod failures;
mod health;
mod inputs;
mod metrics;
mod names;
mod policies;
mod programs;
mod proofs;
mod rate_limits;
mod releases;
mod reservations;
mod slow_clients;
