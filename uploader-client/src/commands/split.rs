//! `inputs split`: write input-group CSVs from a range or from one large CSV (no server).

use std::path::PathBuf;

use cairo_stark::inputs::{parse_csv, to_csv};
use serde_json::json;

use super::App;
use crate::cli::InputsSplit;
use crate::error::{CliError, CliResult};
use crate::state::write_atomic;

/// The most groups one split may write.
const MAX_GROUPS: u64 = 1_000_000;

/// Splits `len` items into groups: `n` groups as even as possible, or groups of `per` items.
/// Returns `(start, end)` offsets.
pub fn chunks(
    len: u64,
    groups: Option<u64>,
    per_group: Option<u64>,
) -> Result<Vec<(u64, u64)>, String> {
    if len == 0 {
        return Err("nothing to split".into());
    }
    let count = match (groups, per_group) {
        (Some(0), _) | (_, Some(0)) => {
            return Err("the number of groups and the group size must be at least 1".into())
        }
        (Some(n), _) => n.min(len),
        (None, Some(per)) => len.div_ceil(per),
        (None, None) => return Err("give --groups N or --per-group K".into()),
    };
    if count > MAX_GROUPS {
        return Err(format!("that makes {count} groups, more than {MAX_GROUPS}"));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut start = 0;
    match (groups, per_group) {
        (None, Some(per)) => {
            while start < len {
                let end = start.saturating_add(per).min(len);
                out.push((start, end));
                start = end;
            }
        }
        _ => {
            let (base, extra) = (len / count, len % count);
            for i in 0..count {
                let end = start + base + u64::from(i < extra);
                out.push((start, end));
                start = end;
            }
        }
    }
    Ok(out)
}

fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?} is not a range A..B"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("{s:?} is not a non-negative integer"))
    };
    let (a, b) = (parse(a)?, parse(b)?);
    if a >= b {
        return Err(format!("the range {a}..{b} is empty (A must be below B)"));
    }
    Ok((a, b))
}

pub fn split(app: &App, args: InputsSplit) -> CliResult<i32> {
    let mut files: Vec<(String, String)> = Vec::new();
    let prefix;
    if let Some(range) = &args.range {
        let (a, b) = parse_range(range).map_err(CliError::new)?;
        prefix = args.prefix.clone().unwrap_or_else(|| "range".to_string());
        let width = (b.to_string().len()).max(1);
        for (start, end) in chunks(b - a, args.groups, args.per_group).map_err(CliError::new)? {
            let (lo, hi) = (a + start, a + end);
            files.push((
                format!("{prefix}-{lo:0width$}-{hi:0width$}.csv"),
                format!("{lo},{hi}\n"),
            ));
        }
    } else if let Some(csv) = &args.csv {
        let bytes = std::fs::read(csv).map_err(|e| CliError::io("read", csv, e))?;
        let values = parse_csv(&bytes)
            .map_err(|e| CliError::new(format!("{} is not an input CSV: {e}", csv.display())))?;
        // Written as they were given (decimal stays decimal); the parse above checked them.
        let tokens = value_tokens(&bytes);
        prefix = args.prefix.clone().unwrap_or_else(|| {
            csv.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "inputs".into())
        });
        let parts =
            chunks(values.len() as u64, args.groups, args.per_group).map_err(CliError::new)?;
        let width = parts.len().to_string().len();
        for (i, (start, end)) in parts.into_iter().enumerate() {
            files.push((
                format!("{prefix}-{:0width$}.csv", i + 1),
                if tokens.len() == values.len() {
                    tokens[start as usize..end as usize]
                        .iter()
                        .map(|t| format!("{t}\n"))
                        .collect()
                } else {
                    to_csv(&values[start as usize..end as usize])
                },
            ));
        }
    } else {
        return Err(CliError::new("give a CSV file or --range A..B"));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| CliError::io("create", &args.out, e))?;
    let mut written: Vec<PathBuf> = Vec::with_capacity(files.len());
    for (name, content) in &files {
        let path = args.out.join(name);
        write_atomic(&path, content.as_bytes(), false)?;
        written.push(path);
    }
    app.out
        .data(&json!({"groups": written.len(), "files": written}));
    app.out.summary(format!(
        "wrote {} input group(s) to {}",
        written.len(),
        args.out.display()
    ));
    Ok(0)
}

/// The values of a CSV as written, in order (the same cells `parse_csv` reads: empty lines and a
/// trailing comma skipped).
fn value_tokens(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_groups_are_as_even_as_possible_and_cover_everything() {
        assert_eq!(
            chunks(10, Some(3), None).unwrap(),
            vec![(0, 4), (4, 7), (7, 10)]
        );
        assert_eq!(chunks(2, Some(5), None).unwrap(), vec![(0, 1), (1, 2)]);
    }

    #[test]
    fn fixed_size_groups_leave_a_shorter_last_one() {
        assert_eq!(
            chunks(10, None, Some(4)).unwrap(),
            vec![(0, 4), (4, 8), (8, 10)]
        );
    }

    #[test]
    fn values_keep_their_notation() {
        let tokens = value_tokens(b"1, 0x2,\n\n33\n");
        assert_eq!(tokens, ["1", "0x2", "33"]);
    }

    #[test]
    fn bad_splits_are_refused() {
        assert!(chunks(0, Some(1), None).is_err());
        assert!(chunks(5, Some(0), None).is_err());
        assert!(parse_range("5..5").is_err());
        assert!(parse_range("1-5").is_err());
        assert_eq!(parse_range("1..17").unwrap(), (1, 17));
    }
}
