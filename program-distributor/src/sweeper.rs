//! The sweeper: removes the objects no database row refers to, and the temporary files of
//! interrupted writes.
//!
//! Why there are any: every write stores its object first and then commits the row that refers
//! to it, and every deletion commits the row's removal first and then deletes the objects. A crash
//! (or a failing store) between the two steps therefore never leaves a row without its object,
//! only an object without a row. Those are what the sweeper removes, once at start-up and then
//! every [`StorageCare::sweep_interval`].
//!
//! An object younger than [`StorageCare::sweep_grace`] is left alone even when no row refers to
//! it: it may belong to an upload in flight (on this replica or another), whose row is committed
//! just after. The objects are listed before the rows are read, so an object old enough to be
//! swept whose row commits meanwhile is seen as referred to. Several replicas may sweep at once:
//! deleting an absent object is not an error.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use actix_web::web;

use crate::configuration::StorageCare;
use crate::db::queries::{input_groups, programs};
use crate::db::{Db, DbError};
use crate::startup::AppState;
use crate::storage::{keys, ObjectStore, StorageError};

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Objects no row refers to.
    pub orphans: usize,
    /// Temporary files of interrupted writes.
    pub temporary: usize,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("object storage: {0}")]
    Storage(#[from] StorageError),
    #[error("database: {0}")]
    Database(#[from] DbError),
}

/// One sweep: removes the temporary files and the unreferenced objects older than `grace`.
pub async fn sweep(db: &Db, store: &dyn ObjectStore, grace: Duration) -> Result<Swept, SweepError> {
    let temporary = store.sweep_temporary(grace).await?;
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut old = store.list(keys::ROOT).await?;
    old.retain(|object| object.modified <= cutoff);
    let mut orphans = 0;
    if !old.is_empty() {
        let referenced = referenced(db).await?;
        for object in old.iter().filter(|o| !referenced.contains(&o.key)) {
            store.delete(&object.key).await?;
            tracing::info!(key = %object.key, "removed an object no row refers to");
            orphans += 1;
        }
    }
    Ok(Swept { orphans, temporary })
}

/// The key of every object a row refers to.
pub async fn referenced(db: &Db) -> Result<HashSet<String>, DbError> {
    db.run(referenced_keys).await
}

fn referenced_keys(conn: &mut crate::db::DbConnection) -> diesel::QueryResult<HashSet<String>> {
    let mut referenced = HashSet::new();
    for program in programs::all_ids(conn)? {
        referenced.insert(keys::program_archive(&program));
        referenced.insert(keys::program_json(&program));
    }
    for (program, group, proof, execution) in input_groups::all_objects(conn)? {
        referenced.extend(keys::of_group(
            &program,
            &group,
            proof.as_deref(),
            execution.as_deref(),
        ));
    }
    Ok(referenced)
}

/// Sweeps at once, then every `care.sweep_interval`, on the current tokio runtime, for as long
/// as it runs. A failed sweep is logged and tried again at the next interval.
pub fn spawn(state: web::Data<AppState>, care: StorageCare) {
    tokio::spawn(async move {
        loop {
            match sweep(&state.db, state.storage.as_ref(), care.sweep_grace).await {
                Ok(swept) => {
                    state.metrics.swept(swept);
                    if swept != Swept::default() {
                        tracing::info!(
                            orphans = swept.orphans,
                            temporary = swept.temporary,
                            "storage sweep done"
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "storage sweep failed; trying again later"),
            }
            let Some(interval) = care.sweep_interval else {
                break;
            };
            tokio::time::sleep(interval).await;
        }
    });
}
