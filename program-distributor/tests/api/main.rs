//! Black-box tests of the HTTP API: each test starts the real server on a random port, with a
//! fresh database and object store, once on MariaDB + S3 and once on the embedded default.

mod helpers;
mod process;

mod accounts;
mod deletion_race;
mod donors;
mod errors;
mod executions;
mod failures;
mod full_disk;
mod health;
mod inputs;
mod metrics;
mod names;
mod policies;
mod programs;
mod proofs;
mod rate_limits;
mod releases;
mod replicas;
mod reservations;
mod shutdown;
mod slow_clients;
mod storage_consistency;
