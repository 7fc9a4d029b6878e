//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`), in colour only on a
//! terminal and without `NO_COLOR` (<https://no-color.org>).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls do nothing).
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .try_init();
}

/// Whether to colour the log: on a terminal, unless `NO_COLOR` is set to a non-empty value.
fn colours(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(super::colours(true, None));
        assert!(super::colours(true, Some("".into())));
        assert!(!super::colours(true, Some("1".into())));
        assert!(!super::colours(false, None));
    }
}
