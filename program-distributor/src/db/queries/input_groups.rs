//! Input groups: upload, listing, the reservation, and the proof life cycle.
//!
//! State is kept in six columns (see the migrations): `proven`, `confirmed`, `lock_expires`
//! (the end of the current reservation; 0 when never reserved, or when the reservation was
//! released or a proof or an execution came in; the time of the report when its run failed),
//! `reservation_id` (the current reservation's secret id, cleared together with the lock),
//! `execution_id` (execution-only mode: an unproven group with an execution waits for a prover)
//! and `failed` (too many failed runs: not handed out until the organization retries it;
//! `failures` and `failure_log` say how many and why).

use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel::{IntoSql, QueryResult};

use distributor_api::FailureRecord;

use super::Window;
use crate::db::models::{InputGroupRow, NewInputGroup};
use crate::db::schema::input_groups as ig;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &NewInputGroup) -> QueryResult<()> {
    diesel::insert_into(ig::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The input group `id`, only as a group of the program `program_id`.
#[diesel::dsl::auto_type(no_type_alias)]
fn group<'a>(program_id: &'a str, id: &'a str) -> _ {
    ig::table
        .filter(ig::id.eq(id))
        .filter(ig::program_id.eq(program_id))
}

pub fn find(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
) -> QueryResult<Option<InputGroupRow>> {
    group(program_id, id)
        .select(InputGroupRow::as_select())
        .first(conn)
        .optional()
}

/// The oldest input group of the program that is neither proven nor failed (without reserving
/// it).
pub fn first_unproven(
    conn: &mut DbConnection,
    program_id: &str,
) -> QueryResult<Option<InputGroupRow>> {
    ig::table
        .filter(ig::program_id.eq(program_id))
        .filter(ig::proven.eq(false))
        .filter(ig::failed.eq(false))
        .order((ig::created_at.asc(), ig::id.asc()))
        .select(InputGroupRow::as_select())
        .first(conn)
        .optional()
}

/// The program's input groups (only those whose proof waits for verification if `awaiting_proof`).
pub fn list(
    conn: &mut DbConnection,
    program_id: &str,
    awaiting_proof: bool,
    window: Window,
) -> QueryResult<(Vec<InputGroupRow>, i64)> {
    let filtered = || {
        let mut query = ig::table.filter(ig::program_id.eq(program_id)).into_boxed();
        if awaiting_proof {
            query = query
                .filter(ig::proven.eq(true))
                .filter(ig::confirmed.eq(false));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(InputGroupRow::as_select())
        .order((ig::created_at.asc(), ig::id.asc()))
        .limit(window.limit)
        .offset(window.offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Deletes the input group and returns it as it was. Run it inside a transaction.
pub fn delete(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
) -> QueryResult<Option<InputGroupRow>> {
    let Some(row) = find(conn, program_id, id)? else {
        return Ok(None);
    };
    diesel::delete(ig::table.find(id)).execute(conn)?;
    Ok(Some(row))
}

/// `(program_id, id, proof_id, execution_id)`: what names an input group's objects.
pub type ObjectIds = (String, String, Option<String>, Option<String>);

/// The [`ObjectIds`] of every input group: what the sweeper needs to tell the objects still
/// referred to.
pub fn all_objects(conn: &mut DbConnection) -> QueryResult<Vec<ObjectIds>> {
    ig::table
        .select((ig::program_id, ig::id, ig::proof_id, ig::execution_id))
        .load(conn)
}

/// Counts of the input groups by state; they partition `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub total: i64,
    /// Unproven, no execution, not reserved, not failed.
    pub uploaded: i64,
    /// Unproven and reserved (to run whole, to execute or to prove an execution).
    pub reserved: i64,
    /// Unproven with an execution, not reserved: waiting for a prover.
    pub executed: i64,
    pub proven: i64,
    pub confirmed: i64,
    /// Unproven and failed too often: not handed out.
    pub failed: i64,
}

pub fn counts(conn: &mut DbConnection, program_id: &str, now: i64) -> QueryResult<Counts> {
    let of = || ig::table.filter(ig::program_id.eq(program_id));
    let unproven = |failed: bool| {
        of().filter(ig::proven.eq(false))
            .filter(ig::failed.eq(failed))
    };
    let total = of().count().get_result(conn)?;
    let failed = unproven(true).count().get_result(conn)?;
    let reserved = unproven(false)
        .filter(ig::lock_expires.gt(now))
        .count()
        .get_result(conn)?;
    let executed = unproven(false)
        .filter(ig::lock_expires.le(now))
        .filter(ig::execution_id.is_not_null())
        .count()
        .get_result(conn)?;
    let proven_all: i64 = of().filter(ig::proven.eq(true)).count().get_result(conn)?;
    let confirmed = of()
        .filter(ig::proven.eq(true))
        .filter(ig::confirmed.eq(true))
        .count()
        .get_result(conn)?;
    Ok(Counts {
        total,
        uploaded: total - reserved - executed - proven_all - failed,
        reserved,
        executed,
        proven: proven_all - confirmed,
        confirmed,
        failed,
    })
}

/// Which unproven input groups a reservation may hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Any of them: the donor executes and proves.
    Whole,
    /// Those without an execution: the donor only executes (execution-only mode).
    Execute,
    /// Those with an execution: the donor proves it.
    Prove,
}

impl Stage {
    /// Whether groups without an execution, and groups with one, qualify. The stage is a pair of
    /// bound values rather than a different filter per stage, so that the reservation is one
    /// statement shape whose prepared statement MySQL keeps cached.
    fn pools(self) -> (bool, bool) {
        match self {
            Stage::Whole => (true, true),
            Stage::Execute => (true, false),
            Stage::Prove => (false, true),
        }
    }
}

/// An input group handed out by [`reserve`].
#[derive(Debug, Clone)]
pub struct Reserved {
    pub id: String,
    pub name: String,
    /// Its execution, if it has one.
    pub execution_id: Option<String>,
    /// Whether it was handed out because its previous reservation ran out (rather than given
    /// back, ended by an upload, or never made).
    pub lock_expired: bool,
}

/// The unproven, not failed input groups of the program in `stage` whose reservation (if any) has
/// expired, the longest expired first (so a group whose run just failed, whose `lock_expires` is
/// the time of the report, comes after every other).
#[diesel::dsl::auto_type(no_type_alias)]
fn reservable<'a>(program_id: &'a str, now: i64, fresh: bool, executed: bool) -> _ {
    ig::table
        .filter(ig::program_id.eq(program_id))
        .filter(ig::proven.eq(false))
        .filter(ig::failed.eq(false))
        .filter(ig::lock_expires.le(now))
        .filter(
            ig::execution_id
                .is_null()
                .and(fresh.into_sql::<Bool>())
                .or(ig::execution_id
                    .is_not_null()
                    .and(executed.into_sql::<Bool>())),
        )
        .order(ig::lock_expires.asc())
        .select((ig::id, ig::name, ig::execution_id, ig::reservation_id))
}

/// Atomically picks one unproven input group of the program in `stage` whose reservation (if
/// any) has expired and reserves it until `now + lock_millis` under the id `reservation_id`.
///
/// MySQL/MariaDB: `SELECT … FOR UPDATE SKIP LOCKED` in a transaction, so concurrent reservers
/// each lock a different row without waiting for each other. SQLite: `BEGIN IMMEDIATE`, which
/// takes the database's single write lock before reading; call it through
/// [`crate::db::Db::run_serialized`] so the server's own writers queue in process instead.
pub fn reserve(
    conn: &mut DbConnection,
    program_id: &str,
    stage: Stage,
    now: i64,
    lock_millis: i64,
    reservation_id: &str,
) -> QueryResult<Option<Reserved>> {
    let until = now.saturating_add(lock_millis);
    let (fresh, executed) = stage.pools();
    let candidates = reservable(program_id, now, fresh, executed);
    // A reservation that ends otherwise than by running out clears its id with its lock.
    let reserved = |(id, name, execution_id, previous): Found| Reserved {
        id,
        name,
        execution_id,
        lock_expired: previous.is_some(),
    };
    match conn {
        DbConnection::Mysql(c) => c.transaction(|c| {
            let found: Option<Found> = candidates
                .limit(1)
                .for_update()
                .skip_locked()
                .first(c)
                .optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            MarkReserved {
                id: found.0.clone(),
                now,
                until,
                reservation_id: reservation_id.to_string(),
            }
            .execute(c)?;
            Ok(Some(reserved(found)))
        }),
        DbConnection::Sqlite(c) => c.immediate_transaction(|c| {
            let found: Option<Found> = candidates.first(c).optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            diesel::update(ig::table.find(&found.0))
                .set((
                    ig::last_reserved.eq(Some(now)),
                    ig::lock_expires.eq(until),
                    ig::reservation_id.eq(Some(reservation_id)),
                ))
                .execute(c)?;
            Ok(Some(reserved(found)))
        }),
    }
}

/// A reservable group as [`reservable`] selects it: id, name, execution, previous reservation.
type Found = (String, String, Option<String>, Option<String>);

/// `UPDATE input_groups SET last_reserved = ?, lock_expires = ?, reservation_id = ? WHERE id = ?`
/// as a statement with a static query id: diesel never caches the prepared statements of its own
/// `UPDATE` builder, which costs a prepare and a close round trip per reservation on MySQL.
#[derive(Debug, Clone, diesel::query_builder::QueryId)]
struct MarkReserved {
    id: String,
    now: i64,
    until: i64,
    reservation_id: String,
}

impl diesel::query_builder::QueryFragment<diesel::mysql::Mysql> for MarkReserved {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::mysql::Mysql>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Text};
        out.push_sql("UPDATE input_groups SET last_reserved = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", lock_expires = ");
        out.push_bind_param::<BigInt, _>(&self.until)?;
        out.push_sql(", reservation_id = ");
        out.push_bind_param::<Text, _>(&self.reservation_id)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(&self.id)?;
        Ok(())
    }
}

impl diesel::RunQueryDsl<diesel::MysqlConnection> for MarkReserved {}

/// The assignments that end a group's reservation. The lock and the reservation's id always go
/// together, so an id never outlives its lock in a way a later release could match.
fn reservation_ended() -> (
    dsl::Eq<ig::lock_expires, i64>,
    dsl::Eq<ig::reservation_id, Option<String>>,
) {
    (ig::lock_expires.eq(0), ig::reservation_id.eq(None))
}

/// What [`mark_proven`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkedProven {
    /// The group was proven already (or is gone): a proof is accepted once.
    AlreadyProven,
    /// The group is proven now; it had this execution (whose object the caller deletes).
    Marked { execution_id: Option<String> },
}

/// Marks the input group proven by the proof `proof_id` of `steps` Cairo steps, unless it is
/// proven already (a proof is accepted once), ends its reservation and forgets its execution.
/// Run it inside a transaction: the first update locks the row, so the execution read after it
/// is the one the group had when it was proven, even if an execution upload raced with the proof.
pub fn mark_proven(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
    proof_id: &str,
    steps: i64,
    now: i64,
) -> QueryResult<MarkedProven> {
    let changed = diesel::update(group(program_id, id).filter(ig::proven.eq(false)))
        .set((
            ig::proven.eq(true),
            ig::proven_at.eq(Some(now)),
            ig::confirmed.eq(false),
            ig::proof_id.eq(Some(proof_id)),
            ig::steps.eq(Some(steps)),
            reservation_ended(),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Ok(MarkedProven::AlreadyProven);
    }
    let execution_id = group(program_id, id).select(ig::execution_id).first(conn)?;
    diesel::update(group(program_id, id))
        .set(ig::execution_id.eq(None::<String>))
        .execute(conn)?;
    Ok(MarkedProven::Marked { execution_id })
}

/// Records the execution `execution_id` of an unproven input group that has none, and ends its
/// reservation so that provers get it at once. Returns whether it was recorded (not when the
/// group got proven or got an execution in the meantime).
pub fn record_execution(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
    execution_id: &str,
) -> QueryResult<bool> {
    diesel::update(
        group(program_id, id)
            .filter(ig::proven.eq(false))
            .filter(ig::execution_id.is_null()),
    )
    .set((ig::execution_id.eq(Some(execution_id)), reservation_ended()))
    .execute(conn)
    .map(|n| n > 0)
}

/// Ends the reservation `reservation_id` of an unproven input group if it is the group's live
/// one, so that the next donor gets the group at once. Returns whether it did. One conditional
/// update: a wrong, released or expired id ends nothing, whoever holds the group now.
pub fn release(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
    reservation_id: &str,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(live(program_id, id, reservation_id, now))
        .set(reservation_ended())
        .execute(conn)
        .map(|n| n > 0)
}

/// The unproven input group `id` while `reservation_id` is its live reservation.
#[diesel::dsl::auto_type(no_type_alias)]
fn live<'a>(program_id: &'a str, id: &'a str, reservation_id: &'a str, now: i64) -> _ {
    ig::table
        .filter(ig::id.eq(id))
        .filter(ig::program_id.eq(program_id))
        .filter(ig::proven.eq(false))
        .filter(ig::lock_expires.gt(now))
        .filter(ig::reservation_id.eq(reservation_id))
}

/// The most failure reports a group's log keeps (the latest ones).
const FAILURE_LOG_LEN: usize = 10;

/// A group's failures after [`record_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i32,
    /// The count reached the program's maximum: the group is not handed out any more.
    pub failed: bool,
}

/// Ends the live reservation `reservation_id` of an unproven input group because its run failed:
/// counts the failure, logs `record`, and marks the group failed at `max_failures`. The lock
/// becomes `now` rather than 0, which puts the group behind every other reservable group of the
/// program. `None` when the reservation is not live (one conditional update, as for
/// [`release`], so a report counts once). Run it inside a transaction.
pub fn record_failure(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
    reservation_id: &str,
    max_failures: i32,
    record: &FailureRecord,
) -> QueryResult<Option<Failures>> {
    let now = record.at.timestamp_millis();
    let ended = diesel::update(live(program_id, id, reservation_id, now))
        .set((
            ig::failures.eq(ig::failures + 1),
            ig::lock_expires.eq(now),
            ig::reservation_id.eq(None::<String>),
        ))
        .execute(conn)?;
    if ended == 0 {
        return Ok(None);
    }
    let (count, log): (i32, Option<String>) = group(program_id, id)
        .select((ig::failures, ig::failure_log))
        .first(conn)?;
    let failed = count >= max_failures;
    diesel::update(group(program_id, id))
        .set((
            ig::failed.eq(failed),
            ig::failure_log.eq(Some(append_failure(log.as_deref(), record))),
        ))
        .execute(conn)?;
    Ok(Some(Failures { count, failed }))
}

/// The failure reports of a stored log, oldest first (none if the log is absent or corrupt).
pub fn failure_records(log: Option<&str>) -> Vec<FailureRecord> {
    log.and_then(|log| serde_json::from_str(log).ok())
        .unwrap_or_default()
}

/// The log `log` with `record` appended, keeping the latest [`FAILURE_LOG_LEN`] reports.
fn append_failure(log: Option<&str>, record: &FailureRecord) -> String {
    let mut records = failure_records(log);
    records.push(record.clone());
    let excess = records.len().saturating_sub(FAILURE_LOG_LEN);
    records.drain(..excess);
    serde_json::to_string(&records).unwrap_or_else(|_| "[]".into())
}

/// Forgets the failures of an unproven input group, so that a failed group is handed out again.
/// Returns the group as it is now (a proven group is left as it was).
pub fn retry(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
) -> QueryResult<Option<InputGroupRow>> {
    diesel::update(group(program_id, id).filter(ig::proven.eq(false)))
        .set((
            ig::failures.eq(0),
            ig::failed.eq(false),
            ig::failure_log.eq(None::<String>),
        ))
        .execute(conn)?;
    find(conn, program_id, id)
}

/// What happened to a request about an input group's proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofLookup {
    /// No such input group in that program.
    NoGroup,
    /// The input group has no proof waiting for verification.
    NoProof,
    /// The proof waiting for verification (its id).
    Proof(String),
}

/// The id of the proof waiting for verification.
pub fn waiting_proof(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
) -> QueryResult<ProofLookup> {
    Ok(match find(conn, program_id, id)? {
        None => ProofLookup::NoGroup,
        Some(row) => match row.proof_id {
            Some(proof) if row.proven && !row.confirmed => ProofLookup::Proof(proof),
            _ => ProofLookup::NoProof,
        },
    })
}

/// Confirms the waiting proof: the group stays proven, the proof is forgotten. Returns what the
/// proof was, so the caller deletes its object.
pub fn confirm(conn: &mut DbConnection, program_id: &str, id: &str) -> QueryResult<ProofLookup> {
    settle(conn, program_id, id, |conn, proof| {
        diesel::update(holding(id, proof))
            .set((ig::confirmed.eq(true), ig::proof_id.eq(None::<String>)))
            .execute(conn)
    })
}

/// Rejects the waiting proof: the group goes back to the pool at once (reservation cleared).
pub fn reject(conn: &mut DbConnection, program_id: &str, id: &str) -> QueryResult<ProofLookup> {
    settle(conn, program_id, id, |conn, proof| {
        diesel::update(holding(id, proof))
            .set((
                ig::proven.eq(false),
                ig::proven_at.eq(None::<i64>),
                ig::proof_id.eq(None::<String>),
                ig::steps.eq(None::<i64>),
                ig::last_reserved.eq(None::<i64>),
                reservation_ended(),
            ))
            .execute(conn)
    })
}

/// The input group `id` while it still holds the waiting proof `proof`.
#[diesel::dsl::auto_type(no_type_alias)]
fn holding<'a>(id: &'a str, proof: &'a str) -> _ {
    ig::table
        .filter(ig::id.eq(id))
        .filter(ig::proven.eq(true))
        .filter(ig::confirmed.eq(false))
        .filter(ig::proof_id.eq(proof))
}

/// Looks up the waiting proof and, if there is one, applies the verdict `update` to the row
/// [`holding`] it. The update changes the row only while it still holds that proof: a concurrent
/// confirm, reject or delete makes this one a no-op (answered `NoProof`) instead of a mix of both.
fn settle(
    conn: &mut DbConnection,
    program_id: &str,
    id: &str,
    update: impl FnOnce(&mut DbConnection, &str) -> QueryResult<usize>,
) -> QueryResult<ProofLookup> {
    let lookup = waiting_proof(conn, program_id, id)?;
    if let ProofLookup::Proof(proof) = &lookup {
        if update(conn, proof)? == 0 {
            return Ok(ProofLookup::NoProof);
        }
    }
    Ok(lookup)
}

#[cfg(test)]
mod tests {
    use distributor_api::{FailureReason, FailureRecord};

    use super::{append_failure, failure_records, FAILURE_LOG_LEN};

    fn record(n: usize) -> FailureRecord {
        FailureRecord {
            at: chrono::DateTime::from_timestamp_millis(n as i64).unwrap_or_default(),
            reason: FailureReason::AssertFailed,
            message: format!("failure {n}"),
        }
    }

    #[test]
    fn the_failure_log_keeps_the_latest_reports_in_order() {
        let mut log: Option<String> = None;
        for n in 0..FAILURE_LOG_LEN + 3 {
            log = Some(append_failure(log.as_deref(), &record(n)));
        }
        let kept = failure_records(log.as_deref());
        assert_eq!(kept.len(), FAILURE_LOG_LEN);
        assert_eq!(kept[0], record(3));
        assert_eq!(kept[FAILURE_LOG_LEN - 1], record(FAILURE_LOG_LEN + 2));
    }

    #[test]
    fn a_corrupt_failure_log_reads_as_empty_and_is_replaced() {
        assert!(failure_records(Some("not json")).is_empty());
        assert!(failure_records(None).is_empty());
        let log = append_failure(Some("{"), &record(1));
        assert_eq!(failure_records(Some(&log)), vec![record(1)]);
    }
}
