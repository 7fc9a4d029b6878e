//! Refused uploads: proofs and executions that the server's own check turned down, the newest
//! [`KEPT_PER_PROGRAM`] of each program, for its organization to read.

use diesel::prelude::*;
use diesel::QueryResult;

use super::Window;
use crate::db::models::RefusalRow;
use crate::db::schema::{input_groups, refusals as rf};
use crate::db::DbConnection;

/// How many refusals a program keeps. Anyone can send a bad file, so the log is bounded: the
/// oldest go first.
pub const KEPT_PER_PROGRAM: i64 = 100;

/// Records `refusal`, then forgets its program's refusals beyond the newest
/// [`KEPT_PER_PROGRAM`]. Run it inside a transaction.
pub fn record(conn: &mut DbConnection, refusal: &RefusalRow) -> QueryResult<()> {
    diesel::insert_into(rf::table)
        .values(refusal)
        .execute(conn)?;
    let program = rf::program_id.eq(&refusal.program_id);
    let oldest_kept: Option<(i64, String)> = rf::table
        .filter(program)
        .select((rf::created_at, rf::id))
        .order((rf::created_at.desc(), rf::id.desc()))
        .offset(KEPT_PER_PROGRAM - 1)
        .first(conn)
        .optional()?;
    if let Some((at, id)) = oldest_kept {
        diesel::delete(
            rf::table.filter(program).filter(
                rf::created_at
                    .lt(at)
                    .or(rf::created_at.eq(at).and(rf::id.lt(id))),
            ),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// A page of the program's refusals, newest first, each with its input group's name, and how
/// many it has in all.
pub fn page(
    conn: &mut DbConnection,
    program_id: &str,
    window: Window,
) -> QueryResult<(Vec<(RefusalRow, String)>, i64)> {
    let total = rf::table
        .filter(rf::program_id.eq(program_id))
        .count()
        .get_result(conn)?;
    let rows = rf::table
        .inner_join(input_groups::table)
        .filter(rf::program_id.eq(program_id))
        .select((RefusalRow::as_select(), input_groups::name))
        .order((rf::created_at.desc(), rf::id.desc()))
        .limit(window.limit)
        .offset(window.offset)
        .load(conn)?;
    Ok((rows, total))
}
