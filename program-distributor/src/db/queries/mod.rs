//! Every statement the server runs, one module per table family.

pub mod accounts;
pub mod credit;
pub mod donors;
pub mod input_groups;
pub mod programs;
pub mod refusals;

use diesel::result::{DatabaseErrorKind, Error};

/// Page bounds in rows.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
}

/// Escapes `prefix` for a `LIKE 'prefix%' ESCAPE '\'` pattern.
pub fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether the error is a unique-constraint violation.
pub fn is_unique_violation(error: &Error) -> bool {
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_prefix_escapes_wildcards() {
        assert_eq!(super::like_prefix("a%b_c\\"), "a\\%b\\_c\\\\%");
        assert_eq!(super::like_prefix(""), "%");
    }
}
