//! Rows to wire types.

use chrono::{DateTime, NaiveDate, Utc};
use distributor_api::{Credit, DailyCredit, InputGroup, Organization, Program, HISTORY_DAYS};
use uuid::Uuid;

use crate::db::models::{InputGroupRow, OrganizationRow, ProgramRow};
use crate::db::queries::credit::DAY_MILLIS;
use crate::db::queries::input_groups;
use crate::error::ApiError;

/// An id the server stored itself; a bad one means a corrupt database.
pub fn stored_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|e| ApiError::internal("corrupt id in the database", e))
}

pub fn time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

pub fn organization(row: OrganizationRow) -> Result<Organization, ApiError> {
    Ok(Organization {
        organization_id: stored_id(&row.id)?,
        name: row.name,
        description: row.description,
    })
}

pub fn program(row: ProgramRow) -> Result<Program, ApiError> {
    let policy = row.policy();
    Ok(Program {
        organization_id: stored_id(&row.account_id)?,
        program_id: stored_id(&row.id)?,
        name: row.name,
        description: row.description,
        input_lock_timeout: row.lock_timeout_secs,
        policy,
        max_failures: u32::try_from(row.max_failures).unwrap_or(0),
    })
}

/// The input group as the API shows it at `now` (milliseconds, the reservation clock).
pub fn input_group(row: InputGroupRow, now: i64) -> Result<InputGroup, ApiError> {
    let reserved = !row.proven && row.lock_expires > now;
    Ok(InputGroup {
        input_group_id: stored_id(&row.id)?,
        program_id: stored_id(&row.program_id)?,
        name: row.name,
        last_reserved: row.last_reserved.map(time),
        proven_datetime: row.proven_at.map(time),
        steps: row.steps.and_then(|s| u64::try_from(s).ok()),
        reserved_until: reserved.then(|| time(row.lock_expires)),
        executed: !row.proven && row.execution_id.is_some(),
        failures: u32::try_from(row.failures).unwrap_or(0),
        failed: !row.proven && row.failed,
        failure_reasons: input_groups::failure_records(row.failure_log.as_deref()),
    })
}

pub fn all<R, T>(
    rows: Vec<R>,
    f: impl FnMut(R) -> Result<T, ApiError>,
) -> Result<Vec<T>, ApiError> {
    rows.into_iter().map(f).collect()
}

/// Days since the epoch as a date.
pub(super) fn date(day: i64) -> NaiveDate {
    time(day.saturating_mul(DAY_MILLIS)).date_naive()
}

/// The first day of the history pages.
pub(super) fn history_start(now: i64) -> i64 {
    now / DAY_MILLIS - (HISTORY_DAYS - 1)
}

/// Credit per day, as the history pages show it.
pub(super) fn days(rows: Vec<(i64, i64, i64)>) -> Vec<DailyCredit> {
    rows.into_iter()
        .map(|(day, steps, jobs)| DailyCredit {
            day: date(day),
            credit: Credit { steps, jobs },
        })
        .collect()
}
