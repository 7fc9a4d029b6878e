//! What the user sees: data on stdout (text or `--json`), messages and progress on stderr.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::CliError;

#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub json: bool,
    pub quiet: bool,
}

impl Out {
    pub fn new(json: bool, quiet: bool) -> Self {
        Out { json, quiet }
    }

    /// A progress message on stderr (not with `--quiet`).
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", message.as_ref());
        }
    }

    /// A warning on stderr (always).
    pub fn warn(&self, message: impl AsRef<str>) {
        eprintln!("warning: {}", message.as_ref());
    }

    /// Text data on stdout (ignored with `--json`).
    pub fn text(&self, message: impl AsRef<str>) {
        if !self.json {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", message.as_ref());
        }
    }

    /// A summary of what a command did, on stdout (not with `--json` or `--quiet`).
    pub fn summary(&self, message: impl AsRef<str>) {
        if !self.quiet {
            self.text(message);
        }
    }

    /// JSON data on stdout (only with `--json`): one object on one line.
    pub fn data<T: Serialize>(&self, value: &T) {
        if self.json {
            println!("{}", distributor_api::cli::json_line(value));
        }
    }

    /// A `next:` hint (what to run next) on stderr; not with `--json` or `--quiet`.
    pub fn next(&self, hint: impl AsRef<str>) {
        if !self.json && !self.quiet {
            eprintln!("next: {}", hint.as_ref());
        }
    }

    /// The error on stderr (`error:` and `hint:` lines); with `--json` also its JSON line on
    /// stdout, the same object as the executor's.
    pub fn error(&self, error: &CliError) {
        if self.json {
            let value =
                distributor_api::cli::error_json(&error.message, error.hint.as_deref(), error.code);
            println!("{value}");
        }
        eprintln!("error: {}", error.message);
        if let Some(hint) = &error.hint {
            eprintln!("hint: {hint}");
        }
    }

    /// A progress bar on stderr, hidden unless stderr is a terminal and output is text.
    pub fn progress(&self, length: u64, what: &str) -> ProgressBar {
        if self.quiet || self.json || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(length);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {wide_msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        bar
    }
}

/// A text bar of `width` cells showing parts of a whole, each part drawn with its own character.
pub fn stacked_bar(parts: &[(i64, char)], width: usize) -> String {
    let total: i64 = parts.iter().map(|(n, _)| (*n).max(0)).sum();
    if total == 0 {
        return " ".repeat(width);
    }
    // Largest-remainder rounding so that the cells add up to `width` exactly.
    let mut cells: Vec<(usize, i64, usize)> = parts
        .iter()
        .enumerate()
        .map(|(i, (n, _))| {
            let scaled = (*n).max(0) * width as i64;
            (i, scaled % total, (scaled / total) as usize)
        })
        .collect();
    let used: usize = cells.iter().map(|c| c.2).sum();
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by(|a, b| cells[*b].1.cmp(&cells[*a].1));
    for i in order.into_iter().take(width.saturating_sub(used)) {
        cells[i].2 += 1;
    }
    cells
        .iter()
        .map(|(i, _, count)| parts[*i].1.to_string().repeat(*count))
        .collect()
}

/// Column-aligned rows.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.trim_end().to_string()
    };
    let mut lines = vec![line(header.to_vec())];
    for row in rows {
        lines.push(line(row.iter().map(String::as_str).collect()));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_bar_fills_the_width_in_proportion() {
        let bar = stacked_bar(&[(1, '#'), (1, '+'), (2, '.')], 8);
        assert_eq!(bar, "##++....");
        let bar = stacked_bar(&[(1, '#'), (1, '+'), (1, '.')], 10);
        assert_eq!(bar.chars().count(), 10);
        assert_eq!(stacked_bar(&[(0, '#')], 4), "    ");
    }
}
