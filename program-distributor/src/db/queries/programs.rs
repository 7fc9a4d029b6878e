//! Programs.

use diesel::prelude::*;
use diesel::QueryResult;

use super::{is_unique_violation, like_prefix, Window};
use crate::db::models::{InputGroupRow, ProgramRow};
use crate::db::schema::{input_groups, programs};
use crate::db::DbConnection;

/// Inserts the program; `Ok(false)` when its organization has a program with that name already.
pub fn insert(conn: &mut DbConnection, row: &ProgramRow) -> QueryResult<bool> {
    match diesel::insert_into(programs::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ProgramRow>> {
    programs::table
        .find(id)
        .select(ProgramRow::as_select())
        .first(conn)
        .optional()
}

/// Which programs a listing shows.
#[derive(Debug, Clone)]
pub enum Listing {
    /// Every program, optionally only those whose name starts with a prefix.
    All { name_prefix: Option<String> },
    /// The programs of one organization.
    Organization(String),
    /// The programs of one organization with at least one proof waiting for verification.
    WithProofs(String),
}

pub fn list(
    conn: &mut DbConnection,
    listing: &Listing,
    window: Window,
) -> QueryResult<(Vec<ProgramRow>, i64)> {
    let filtered = || {
        let mut query = programs::table.into_boxed();
        match listing {
            Listing::All { name_prefix } => {
                if let Some(prefix) = name_prefix {
                    query = query.filter(programs::name.like(like_prefix(prefix)).escape('\\'));
                }
            }
            Listing::Organization(account) => {
                query = query.filter(programs::account_id.eq(account.clone()));
            }
            Listing::WithProofs(account) => {
                query = query
                    .filter(programs::account_id.eq(account.clone()))
                    .filter(diesel::dsl::exists(
                        input_groups::table
                            .filter(input_groups::program_id.eq(programs::id))
                            .filter(input_groups::proven.eq(true))
                            .filter(input_groups::confirmed.eq(false)),
                    ));
            }
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(ProgramRow::as_select())
        .order((programs::created_at.asc(), programs::id.asc()))
        .limit(window.limit)
        .offset(window.offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Deletes a program and its input groups; returns the input groups as they were, so the caller
/// can delete their objects. Run it inside a transaction.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<InputGroupRow>> {
    let groups = input_groups::table
        .filter(input_groups::program_id.eq(id))
        .select(InputGroupRow::as_select())
        .load(conn)?;
    diesel::delete(input_groups::table.filter(input_groups::program_id.eq(id))).execute(conn)?;
    diesel::delete(programs::table.find(id)).execute(conn)?;
    Ok(groups)
}

/// The id of every program (for the sweeper).
pub fn all_ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    programs::table.select(programs::id).load(conn)
}
