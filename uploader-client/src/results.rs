//! The results file: one JSON line per verified input group, written (and fsynced) *before* its
//! proof is confirmed on the server, and never twice for the same input group.
//!
//! Line shape: `{"program_id", "input_group_id", "name", "outputs": ["<decimal>", …], "steps",
//! "security_bits", "provable_security_bits", "rechecked", "verified_at"}`; lines of older
//! versions lack `provable_security_bits` and `rechecked` (read as 0 and false). Outputs are
//! field elements written as their canonical decimal representative (0 ≤ v < p).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CliError, CliResult};
use crate::state::{append_line, read_lines, StateDir};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultLine {
    pub program_id: Uuid,
    pub input_group_id: Uuid,
    pub name: String,
    pub outputs: Vec<String>,
    pub steps: u64,
    pub security_bits: u32,
    /// Absent in lines written before provable security was reported.
    #[serde(default)]
    pub provable_security_bits: u32,
    /// Re-executed by `proofs verify --recheck`, with the same outputs.
    #[serde(default)]
    pub rechecked: bool,
    pub verified_at: String,
}

/// The results of one program, as kept on disk.
pub struct ResultsFile {
    path: PathBuf,
    saved: HashSet<Uuid>,
    lines: Vec<ResultLine>,
    pub broken_lines: usize,
}

/// The default results file of a program.
pub fn default_path(state: &StateDir, program_id: Uuid) -> PathBuf {
    state.results_dir().join(format!("{program_id}.jsonl"))
}

impl ResultsFile {
    pub fn open(path: &Path) -> CliResult<Self> {
        let (lines, broken_lines) = read_lines::<ResultLine>(path)?;
        // Keep the first line of an input group, should a file edited by hand repeat one.
        let mut saved = HashSet::new();
        let lines: Vec<ResultLine> = lines
            .into_iter()
            .filter(|l| saved.insert(l.input_group_id))
            .collect();
        Ok(ResultsFile {
            path: path.to_path_buf(),
            saved,
            lines,
            broken_lines,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn contains(&self, input_group_id: Uuid) -> bool {
        self.saved.contains(&input_group_id)
    }

    pub fn lines(&self) -> &[ResultLine] {
        &self.lines
    }

    /// Appends a result durably; a second result for the same input group is not written.
    /// Returns whether a line was written.
    pub fn append(&mut self, line: ResultLine) -> CliResult<bool> {
        if self.saved.contains(&line.input_group_id) {
            return Ok(false);
        }
        let text = serde_json::to_string(&line)
            .map_err(|e| CliError::new(format!("cannot encode a result: {e}")))?;
        append_line(&self.path, &text)?;
        self.saved.insert(line.input_group_id);
        self.lines.push(line);
        Ok(true)
    }
}

/// A built-in reducer over one output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reducer {
    Sum,
    Min,
    Max,
    Count,
    Concat,
}

/// `COLUMN:REDUCER`, the column counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub column: usize,
    pub reducer: Reducer,
}

impl std::str::FromStr for ColumnSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (column, reducer) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not COLUMN:REDUCER (e.g. 3:sum)"))?;
        let column: usize = column
            .trim()
            .parse()
            .ok()
            .filter(|c| *c >= 1)
            .ok_or_else(|| format!("column {column:?} must be a number from 1"))?;
        let reducer = match reducer.trim() {
            "sum" => Reducer::Sum,
            "min" => Reducer::Min,
            "max" => Reducer::Max,
            "count" => Reducer::Count,
            "concat" => Reducer::Concat,
            other => {
                return Err(format!(
                    "unknown reducer {other:?} (use sum, min, max, count or concat)"
                ))
            }
        };
        Ok(ColumnSpec { column, reducer })
    }
}

impl std::fmt::Display for Reducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reducer::Sum => "sum",
            Reducer::Min => "min",
            Reducer::Max => "max",
            Reducer::Count => "count",
            Reducer::Concat => "concat",
        })
    }
}

/// Reduces one column of `lines`. Values are the outputs' decimal representatives, compared and
/// added as exact non-negative integers. `None` when no line has that column (except `count`,
/// which is then 0).
pub fn reduce(lines: &[ResultLine], spec: ColumnSpec) -> CliResult<Option<String>> {
    let widest = lines.iter().map(|l| l.outputs.len()).max();
    if let Some(widest) = widest.filter(|w| spec.column > *w) {
        return Err(CliError::new(format!(
            "column {} does not exist: the outputs have {widest} column(s)",
            spec.column
        ))
        .with_code(crate::error::exit::USAGE)
        .with_hint(format!(
            "columns count from 1 to {widest}; see them with `uploader-client results show`"
        )));
    }
    let mut values = Vec::new();
    for line in lines {
        if let Some(value) = line.outputs.get(spec.column - 1) {
            if !is_decimal(value) {
                return Err(CliError::new(format!(
                    "input group {}: output {} is {value:?}, not a decimal number",
                    line.input_group_id, spec.column
                )));
            }
            values.push(value.as_str());
        }
    }
    Ok(match spec.reducer {
        Reducer::Count => Some(values.len().to_string()),
        _ if values.is_empty() => None,
        Reducer::Sum => Some(
            values
                .iter()
                .fold(String::from("0"), |acc, v| add_decimal(&acc, v)),
        ),
        Reducer::Min => values
            .iter()
            .min_by(|a, b| cmp_decimal(a, b))
            .map(|v| v.to_string()),
        Reducer::Max => values
            .iter()
            .max_by(|a, b| cmp_decimal(a, b))
            .map(|v| v.to_string()),
        Reducer::Concat => Some(values.join(",")),
    })
}

fn is_decimal(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

fn strip_zeros(value: &str) -> &str {
    let stripped = value.trim_start_matches('0');
    if stripped.is_empty() {
        "0"
    } else {
        stripped
    }
}

fn cmp_decimal(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Exact sum of two non-negative decimal numbers.
fn add_decimal(a: &str, b: &str) -> String {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut digits = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0u8;
    for i in 0..a.len().max(b.len()) {
        let da = if i < a.len() {
            a[a.len() - 1 - i] - b'0'
        } else {
            0
        };
        let db = if i < b.len() {
            b[b.len() - 1 - i] - b'0'
        } else {
            0
        };
        let s = da + db + carry;
        digits.push(b'0' + s % 10);
        carry = s / 10;
    }
    if carry > 0 {
        digits.push(b'0' + carry);
    }
    digits.reverse();
    strip_zeros(&String::from_utf8_lossy(&digits)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(outputs: &[&str]) -> ResultLine {
        ResultLine {
            program_id: Uuid::nil(),
            input_group_id: Uuid::new_v4(),
            name: "g".into(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            steps: 1,
            security_bits: 100,
            provable_security_bits: 0,
            rechecked: false,
            verified_at: String::new(),
        }
    }

    fn spec(text: &str) -> ColumnSpec {
        text.parse().unwrap()
    }

    #[test]
    fn reducers_work_on_exact_big_integers() {
        let p_minus_1 =
            "3618502788666131213697322783095070105623107215331596699973092056135872020480";
        let lines = [
            line(&["1", "9", p_minus_1]),
            line(&["3", "10", "1"]),
            line(&["2"]),
        ];
        assert_eq!(reduce(&lines, spec("1:sum")).unwrap().unwrap(), "6");
        assert_eq!(reduce(&lines, spec("2:max")).unwrap().unwrap(), "10");
        assert_eq!(reduce(&lines, spec("2:min")).unwrap().unwrap(), "9");
        assert_eq!(reduce(&lines, spec("1:count")).unwrap().unwrap(), "3");
        assert_eq!(reduce(&lines, spec("2:count")).unwrap().unwrap(), "2");
        assert_eq!(reduce(&lines, spec("1:concat")).unwrap().unwrap(), "1,3,2");
        assert_eq!(
            reduce(&lines, spec("3:sum")).unwrap().unwrap(),
            "3618502788666131213697322783095070105623107215331596699973092056135872020481"
        );
        // A column no output has is an error naming the widest; no results at all is not.
        let error = reduce(&lines, spec("4:sum")).unwrap_err();
        assert!(error.message.contains("3 column(s)"), "{}", error.message);
        assert_eq!(error.code, crate::error::exit::USAGE);
        assert!(reduce(&lines, spec("4:count")).is_err());
        assert_eq!(reduce(&[], spec("4:sum")).unwrap(), None);
        assert_eq!(reduce(&[], spec("4:count")).unwrap().unwrap(), "0");
    }

    #[test]
    fn column_specs_are_checked() {
        assert_eq!(
            spec("3:sum"),
            ColumnSpec {
                column: 3,
                reducer: Reducer::Sum
            }
        );
        assert!("0:sum".parse::<ColumnSpec>().is_err());
        assert!("3".parse::<ColumnSpec>().is_err());
        assert!("3:avg".parse::<ColumnSpec>().is_err());
    }

    #[test]
    fn the_same_input_group_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut file = ResultsFile::open(&path).unwrap();
        let first = line(&["1"]);
        assert!(file.append(first.clone()).unwrap());
        assert!(!file.append(first.clone()).unwrap());
        let reopened = ResultsFile::open(&path).unwrap();
        assert_eq!(reopened.lines(), std::slice::from_ref(&first));
        let mut reopened = reopened;
        assert!(!reopened.append(first).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}
