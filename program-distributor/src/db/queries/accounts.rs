//! Accounts (organizations) and their refresh tokens.

use diesel::prelude::*;
use diesel::QueryResult;

use super::{is_unique_violation, like_prefix, Window};
use crate::db::models::{AccountRow, OrganizationRow, RefreshTokenRow};
use crate::db::schema::{accounts, refresh_tokens};
use crate::db::DbConnection;

/// Inserts the account; `Ok(false)` when the username is taken.
pub fn insert(conn: &mut DbConnection, row: &AccountRow) -> QueryResult<bool> {
    match diesel::insert_into(accounts::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The account whose username has the key `username_key` (`domain::text::unique_key`).
pub fn find_by_username(
    conn: &mut DbConnection,
    username_key: &str,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::username_key.eq(username_key))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(accounts::table.find(id))).get_result(conn)
}

/// Organizations whose name starts with `prefix` (all when `None`), by name.
pub fn list(
    conn: &mut DbConnection,
    prefix: Option<&str>,
    window: Window,
) -> QueryResult<(Vec<OrganizationRow>, i64)> {
    let filtered = || {
        let mut query = accounts::table.into_boxed();
        if let Some(prefix) = prefix {
            query = query.filter(accounts::name.like(like_prefix(prefix)).escape('\\'));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(OrganizationRow::as_select())
        .order((accounts::name.asc(), accounts::id.asc()))
        .limit(window.limit)
        .offset(window.offset)
        .load(conn)?;
    Ok((rows, total))
}

pub fn insert_refresh_token(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Whether the refresh token (session) `id` of `account_id` exists and has not expired.
pub fn session_is_live(
    conn: &mut DbConnection,
    id: &str,
    account_id: &str,
    now: i64,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Deletes the refresh token `id` of `account_id`; `Ok(false)` when there was none.
pub fn delete_refresh_token(
    conn: &mut DbConnection,
    id: &str,
    account_id: &str,
) -> QueryResult<bool> {
    diesel::delete(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::account_id.eq(account_id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Removes expired refresh tokens of an account (housekeeping at login).
pub fn delete_expired_refresh_tokens(
    conn: &mut DbConnection,
    account_id: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::expires_at.le(now)),
    )
    .execute(conn)
}
