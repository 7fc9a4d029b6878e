//! `results aggregate | show`: work on the saved, verified results only (no server needed when
//! the program is named by id or by a name in the ledger).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::json;
use uuid::Uuid;

use super::{resolve_program, App};
use crate::cli::{Aggregate, ResultsShow};
use crate::error::{CliError, CliResult};
use crate::results::{default_path, reduce, ResultLine, ResultsFile};

/// The program's results file (only its lines: a file given with `--results` may be shared).
async fn open_results(
    app: &App,
    program: &str,
    file: Option<PathBuf>,
) -> CliResult<(Uuid, ResultsFile, Vec<ResultLine>)> {
    let ledger = app.ledger()?;
    let mut session = app.session().ok();
    let program_id = resolve_program(session.as_mut(), &ledger, program).await?;
    let path = file.unwrap_or_else(|| default_path(&app.state, program_id));
    if !path.exists() {
        return Err(CliError::new(format!(
            "no results for program {program_id} yet ({} does not exist)",
            path.display()
        ))
        .with_hint(format!(
            "run `uploader-client proofs verify {program_id}` first"
        )));
    }
    let results = ResultsFile::open(&path)?;
    if results.broken_lines > 0 {
        app.out.warn(format!(
            "{} unreadable line(s) in {} were skipped",
            results.broken_lines,
            path.display()
        ));
    }
    let lines = results
        .lines()
        .iter()
        .filter(|l| l.program_id == program_id)
        .cloned()
        .collect();
    Ok((program_id, results, lines))
}

fn csv_escape(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `input_group_id,name,output1,…` with a header line.
fn to_csv(lines: &[ResultLine]) -> String {
    let width = lines.iter().map(|l| l.outputs.len()).max().unwrap_or(0);
    let mut text = String::from("input_group_id,name");
    for i in 1..=width {
        text.push_str(&format!(",output{i}"));
    }
    text.push('\n');
    for line in lines {
        text.push_str(&line.input_group_id.to_string());
        text.push(',');
        text.push_str(&csv_escape(&line.name));
        for value in &line.outputs {
            text.push(',');
            text.push_str(value);
        }
        text.push('\n');
    }
    text
}

fn to_jsonl(lines: &[ResultLine]) -> CliResult<String> {
    let mut text = String::new();
    for line in lines {
        text.push_str(
            &serde_json::to_string(line)
                .map_err(|e| CliError::new(format!("cannot encode a result: {e}")))?,
        );
        text.push('\n');
    }
    Ok(text)
}

pub async fn aggregate(app: &App, args: Aggregate) -> CliResult<i32> {
    if args.columns.is_empty() && args.exec.is_none() {
        return Err(CliError::new("nothing to do")
            .with_hint("give --column N:REDUCER (e.g. --column 3:sum) and/or --exec CMD"));
    }
    let (program_id, results, lines) = open_results(app, &args.program, args.results).await?;
    let lines = lines.as_slice();
    let mut reduced = Vec::new();
    for spec in &args.columns {
        let value = reduce(lines, *spec)?;
        reduced.push(json!({
            "column": spec.column,
            "reducer": spec.reducer.to_string(),
            "value": value,
        }));
        app.out.text(format!(
            "column {} {}: {}",
            spec.column,
            spec.reducer,
            value.as_deref().unwrap_or("(no values)")
        ));
    }
    if !args.columns.is_empty() {
        app.out.data(&json!({
            "program_id": program_id,
            "input_groups": lines.len(),
            "columns": reduced,
        }));
        app.out
            .note(format!("over {} verified input group(s)", lines.len()));
    }
    let Some(command) = args.exec else {
        return Ok(0);
    };
    let input = if args.csv {
        to_csv(lines)
    } else {
        to_jsonl(lines)?
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::piped())
        .env("UPLOADER_CLIENT_PROGRAM_ID", program_id.to_string())
        .env("UPLOADER_CLIENT_RESULTS", results.path())
        .spawn()
        .map_err(|e| CliError::new(format!("cannot run {command:?}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A program that stops reading early (e.g. `head`) is not an error of ours.
        if let Err(e) = stdin.write_all(input.as_bytes()) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(CliError::new(format!("cannot feed {command:?}: {e}")));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| CliError::new(format!("cannot wait for {command:?}: {e}")))?;
    match status.code() {
        Some(0) => Ok(0),
        Some(code) => {
            Err(CliError::new(format!("{command:?} exited with status {code}")).with_code(code))
        }
        None => Err(CliError::new(format!("{command:?} was killed by a signal"))),
    }
}

pub async fn show(app: &App, args: ResultsShow) -> CliResult<i32> {
    let (_, _, lines) = open_results(app, &args.program, args.results).await?;
    if app.out.json {
        app.out.data(&lines);
    } else if args.csv {
        print!("{}", to_csv(&lines));
    } else {
        print!("{}", to_jsonl(&lines)?);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_escapes_names() {
        let line = ResultLine {
            program_id: Uuid::nil(),
            input_group_id: Uuid::nil(),
            name: "a,b".into(),
            outputs: vec!["1".into(), "2".into()],
            steps: 1,
            security_bits: 100,
            provable_security_bits: 0,
            rechecked: false,
            verified_at: String::new(),
        };
        assert_eq!(
            to_csv(&[line]),
            format!(
                "input_group_id,name,output1,output2\n{},\"a,b\",1,2\n",
                Uuid::nil()
            )
        );
    }
}
