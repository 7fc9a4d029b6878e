//! Credit: one entry per accepted proof or execution of a registered donor (its program, its day,
//! its steps), and the all-time totals kept on the donor's row in the same transaction. Sums are
//! cast to a 64-bit integer so that both backends answer the same type (MySQL's `SUM` is a
//! DECIMAL).

use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::QueryResult;

use super::{is_unique_violation, Window};
use crate::db::models::{CreditEntryRow, DonorRow};
use crate::db::schema::{
    accounts, credit_entries as ce, donors, input_groups, program_visibility, programs,
};
use crate::db::DbConnection;

/// `SUM(column)` as a BIGINT, 0 over no rows.
pub fn int_sum(column: &str) -> SqlLiteral<BigInt> {
    sql::<BigInt>(&format!("CAST(COALESCE(SUM({column}), 0) AS SIGNED)"))
}

/// Milliseconds in a day.
pub const DAY_MILLIS: i64 = 24 * 3600 * 1000;

/// Credits `entry` to its donor, once: `Ok(false)` when its proof or execution was credited
/// already. Run it inside the transaction that accepts the file.
pub fn add(conn: &mut DbConnection, entry: &CreditEntryRow) -> QueryResult<bool> {
    match diesel::insert_into(ce::table).values(entry).execute(conn) {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e),
    }
    diesel::update(donors::table.find(&entry.donor_id))
        .set((
            donors::total_steps.eq(donors::total_steps + entry.steps),
            donors::total_jobs.eq(donors::total_jobs + entry.jobs),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Steps and jobs of a group of entries, by some key.
pub type Sums = Vec<(String, i64, i64)>;

/// The all-time leaderboard: donors with credit, most steps first (ties by id), and how many
/// there are.
pub fn ranking(conn: &mut DbConnection, window: Window) -> QueryResult<(Vec<DonorRow>, i64)> {
    let credited = || donors::table.filter(donors::total_jobs.gt(0));
    let total = credited().count().get_result(conn)?;
    let rows = credited()
        .order((donors::total_steps.desc(), donors::id.asc()))
        .limit(window.limit)
        .offset(window.offset)
        .select(DonorRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The leaderboard of credit earned since `since` (milliseconds): `(donor id, steps, jobs)`,
/// most steps first (ties by id), and how many donors earned some.
pub fn ranking_since(
    conn: &mut DbConnection,
    since: i64,
    window: Window,
) -> QueryResult<(Sums, i64)> {
    let total = ce::table
        .filter(ce::created_at.ge(since))
        .select(sql::<BigInt>("COUNT(DISTINCT donor_id)"))
        .first(conn)?;
    let rows = ce::table
        .filter(ce::created_at.ge(since))
        .group_by(ce::donor_id)
        .select((ce::donor_id, int_sum("steps"), int_sum("jobs")))
        .order((sql::<BigInt>("2 DESC"), ce::donor_id.asc()))
        .limit(window.limit)
        .offset(window.offset)
        .load(conn)?;
    Ok((rows, total))
}

/// The donor's place on the all-time leaderboard.
pub fn rank(conn: &mut DbConnection, donor: &DonorRow) -> QueryResult<i64> {
    let ahead: i64 = donors::table
        .filter(donors::total_jobs.gt(0))
        .filter(
            donors::total_steps
                .gt(donor.total_steps)
                .or(donors::total_steps
                    .eq(donor.total_steps)
                    .and(donors::id.lt(&donor.id))),
        )
        .count()
        .get_result(conn)?;
    Ok(ahead + 1)
}

/// The donor's credit since `since` (milliseconds).
pub fn donor_since(conn: &mut DbConnection, donor_id: &str, since: i64) -> QueryResult<(i64, i64)> {
    ce::table
        .filter(ce::donor_id.eq(donor_id))
        .filter(ce::created_at.ge(since))
        .select((int_sum("steps"), int_sum("jobs")))
        .first(conn)
}

/// The donor's credit per program, most steps first.
pub fn donor_programs(conn: &mut DbConnection, donor_id: &str) -> QueryResult<Sums> {
    ce::table
        .filter(ce::donor_id.eq(donor_id))
        .group_by(ce::program_id)
        .select((ce::program_id, int_sum("steps"), int_sum("jobs")))
        .order((sql::<BigInt>("2 DESC"), ce::program_id.asc()))
        .load(conn)
}

/// Whose credit a history is of.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Donor(&'a str),
    Program(&'a str),
}

/// Credit per day (days since the epoch) from `from_day` on, oldest first.
pub fn per_day(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    from_day: i64,
) -> QueryResult<Vec<(i64, i64, i64)>> {
    let by_day = ce::table
        .filter(ce::day.ge(from_day))
        .group_by(ce::day)
        .select((ce::day, int_sum("steps"), int_sum("jobs")))
        .order(ce::day.asc());
    match scope {
        Scope::Donor(id) => by_day.filter(ce::donor_id.eq(id)).load(conn),
        Scope::Program(id) => by_day.filter(ce::program_id.eq(id)).load(conn),
    }
}

/// The donors with the most steps on the program: `(donor id, steps, jobs)`, and how many
/// donors it credited.
pub fn program_donors(
    conn: &mut DbConnection,
    program_id: &str,
    limit: i64,
) -> QueryResult<(Sums, i64)> {
    let of = || ce::table.filter(ce::program_id.eq(program_id));
    let total = of()
        .select(sql::<BigInt>("COUNT(DISTINCT donor_id)"))
        .first(conn)?;
    let top = of()
        .group_by(ce::donor_id)
        .select((ce::donor_id, int_sum("steps"), int_sum("jobs")))
        .order((sql::<BigInt>("2 DESC"), ce::donor_id.asc()))
        .limit(limit)
        .load(conn)?;
    Ok((top, total))
}

/// The Cairo steps of the program's proven input groups.
pub fn steps_proven(conn: &mut DbConnection, program_id: &str) -> QueryResult<i64> {
    input_groups::table
        .filter(input_groups::program_id.eq(program_id))
        .filter(input_groups::proven.eq(true))
        .select(int_sum("steps"))
        .first(conn)
}

/// The names of the programs `ids` that still exist: `(id, name)`.
pub fn program_names(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    programs::table
        .filter(programs::id.eq_any(ids))
        .select((programs::id, programs::name))
        .load(conn)
}

/// The name of the organization `id`.
pub fn organization_name(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    accounts::table
        .find(id)
        .select(accounts::name)
        .first(conn)
        .optional()
}

/// Whether the program's progress is public (`None` when there is no such program).
pub fn progress_public(conn: &mut DbConnection, program_id: &str) -> QueryResult<Option<bool>> {
    program_visibility::table
        .find(program_id)
        .select(program_visibility::public_progress)
        .first(conn)
        .optional()
}

pub fn set_progress_public(
    conn: &mut DbConnection,
    program_id: &str,
    public: bool,
) -> QueryResult<()> {
    diesel::update(program_visibility::table.find(program_id))
        .set(program_visibility::public_progress.eq(public))
        .execute(conn)
        .map(|_| ())
}
