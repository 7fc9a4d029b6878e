//! Donors, their keys and nonces, and teams.

use diesel::prelude::*;
use diesel::QueryResult;

use super::{is_unique_violation, Window};
use crate::db::models::{DonorRow, TeamRow};
use crate::db::schema::{donor_nonces, donors, teams};
use crate::db::DbConnection;

/// Why a donor could not be inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Name,
    Key,
}

/// Inserts the donor, or says which of its unique values another donor has.
pub fn insert(conn: &mut DbConnection, row: &DonorRow) -> QueryResult<Result<(), Taken>> {
    match diesel::insert_into(donors::table).values(row).execute(conn) {
        Ok(_) => Ok(Ok(())),
        Err(e) if is_unique_violation(&e) => {
            let key_taken = find_by_key(conn, &row.public_key)?.is_some();
            Ok(Err(if key_taken { Taken::Key } else { Taken::Name }))
        }
        Err(e) => Err(e),
    }
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DonorRow>> {
    donors::table
        .find(id)
        .select(DonorRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_key(conn: &mut DbConnection, public_key: &str) -> QueryResult<Option<DonorRow>> {
    donors::table
        .filter(donors::public_key.eq(public_key))
        .select(DonorRow::as_select())
        .first(conn)
        .optional()
}

/// The donors `ids` (in any order).
pub fn find_all(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<DonorRow>> {
    donors::table
        .filter(donors::id.eq_any(ids))
        .select(DonorRow::as_select())
        .load(conn)
}

/// Records the use of `nonce` by `public_key` until `expires_at` (milliseconds), and forgets the
/// key's nonces that expired. `Ok(false)` when the nonce is still remembered: a replay.
pub fn use_nonce(
    conn: &mut DbConnection,
    public_key: &str,
    nonce: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<bool> {
    diesel::delete(
        donor_nonces::table
            .filter(donor_nonces::public_key.eq(public_key))
            .filter(donor_nonces::expires_at.lt(now)),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(donor_nonces::table)
        .values((
            donor_nonces::public_key.eq(public_key),
            donor_nonces::nonce.eq(nonce),
            donor_nonces::expires_at.eq(expires_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Forgets every expired nonce (of keys that stopped signing).
pub fn sweep_nonces(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(donor_nonces::table.filter(donor_nonces::expires_at.lt(now))).execute(conn)
}

pub fn touch(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(donors::table.find(id))
        .set(donors::last_seen_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Gives the donor `id` the key `new_key`, if `old_key` is still its key; `Ok(Err(()))` when
/// another donor holds `new_key`, `Ok(Ok(false))` when the key changed meanwhile.
pub fn rotate_key(
    conn: &mut DbConnection,
    id: &str,
    old_key: &str,
    new_key: &str,
) -> QueryResult<Result<bool, ()>> {
    let updated = diesel::update(
        donors::table
            .find(id)
            .filter(donors::public_key.eq(old_key)),
    )
    .set(donors::public_key.eq(new_key))
    .execute(conn);
    match updated {
        Ok(n) => Ok(Ok(n > 0)),
        Err(e) if is_unique_violation(&e) => Ok(Err(())),
        Err(e) => Err(e),
    }
}

pub fn set_team(conn: &mut DbConnection, id: &str, team: Option<&str>) -> QueryResult<()> {
    diesel::update(donors::table.find(id))
        .set(donors::team_id.eq(team))
        .execute(conn)
        .map(|_| ())
}

/// Inserts the team; `Ok(false)` when another team has its name.
pub fn insert_team(conn: &mut DbConnection, row: &TeamRow) -> QueryResult<bool> {
    match diesel::insert_into(teams::table).values(row).execute(conn) {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn find_team(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TeamRow>> {
    teams::table
        .find(id)
        .select(TeamRow::as_select())
        .first(conn)
        .optional()
}

/// A team with its members' summed credit.
#[derive(Debug, Clone)]
pub struct TeamStanding {
    pub row: TeamRow,
    pub members: i64,
    pub steps: i64,
    pub jobs: i64,
}

/// Every team with its credit, most steps first (ties by id). Teams are few next to donors;
/// the page is cut from the whole ranking so that every team's rank is its place in it.
pub fn team_ranking(conn: &mut DbConnection) -> QueryResult<Vec<TeamStanding>> {
    let sums: Vec<(Option<String>, i64, i64, i64)> = donors::table
        .filter(donors::team_id.is_not_null())
        .group_by(donors::team_id)
        .select((
            donors::team_id,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("COUNT(*)"),
            super::credit::int_sum("total_steps"),
            super::credit::int_sum("total_jobs"),
        ))
        .load(conn)?;
    let sums: std::collections::HashMap<String, (i64, i64, i64)> = sums
        .into_iter()
        .filter_map(|(team, members, steps, jobs)| Some((team?, (members, steps, jobs))))
        .collect();
    let rows = teams::table.select(TeamRow::as_select()).load(conn)?;
    let mut standings: Vec<TeamStanding> = rows
        .into_iter()
        .map(|row| {
            let (members, steps, jobs) = sums.get(&row.id).copied().unwrap_or_default();
            TeamStanding {
                row,
                members,
                steps,
                jobs,
            }
        })
        .collect();
    standings.sort_by(|a, b| b.steps.cmp(&a.steps).then_with(|| a.row.id.cmp(&b.row.id)));
    Ok(standings)
}

/// The team's members, most all-time steps first.
pub fn team_members(
    conn: &mut DbConnection,
    team_id: &str,
    window: Window,
) -> QueryResult<Vec<DonorRow>> {
    donors::table
        .filter(donors::team_id.eq(team_id))
        .order((donors::total_steps.desc(), donors::id.asc()))
        .limit(window.limit)
        .offset(window.offset)
        .select(DonorRow::as_select())
        .load(conn)
}
