//! Pagination of listings: `limit` 1..=50 (default 10), `page` from 1 (default 1).

use super::Invalid;
use crate::db::queries::Window;

pub use distributor_api::{DEFAULT_PAGE_SIZE as DEFAULT_LIMIT, MAX_PAGE_SIZE as MAX_LIMIT};

/// A checked page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    limit: i64,
    page: i64,
}

impl Pagination {
    pub fn parse(limit: Option<i64>, page: Option<i64>) -> Result<Self, Invalid> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        let page = page.unwrap_or(1);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Invalid(format!(
                "`limit` must be between 1 and {MAX_LIMIT}, got {limit}"
            )));
        }
        if page < 1 {
            return Err(Invalid(format!("`page` must be 1 or more, got {page}")));
        }
        if (page - 1).checked_mul(limit).is_none() {
            return Err(Invalid(format!("`page` {page} is out of range")));
        }
        Ok(Pagination { limit, page })
    }

    /// The rows to fetch.
    pub fn window(self) -> Window {
        Window {
            limit: self.limit,
            offset: (self.page - 1) * self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_first_page_of_ten() {
        let window = Pagination::parse(None, None).unwrap().window();
        assert_eq!((window.limit, window.offset), (10, 0));
    }

    #[test]
    fn pages_are_one_based() {
        let window = Pagination::parse(Some(5), Some(3)).unwrap().window();
        assert_eq!((window.limit, window.offset), (5, 10));
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for (limit, page) in [(0, 1), (51, 1), (-1, 1), (10, 0), (10, -3)] {
            assert!(
                Pagination::parse(Some(limit), Some(page)).is_err(),
                "{limit} {page}"
            );
        }
        assert!(Pagination::parse(Some(50), Some(i64::MAX)).is_err());
        assert!(Pagination::parse(Some(50), Some(1)).is_ok());
    }
}
