//! The three layers `figment` merges (declared defaults, config file, environment) and the
//! `--help` list, all made from [`SETTINGS`].

use std::path::PathBuf;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::{variable, Fallback, SETTINGS};

/// One layer of values, named in error messages.
pub struct Layer {
    name: &'static str,
    /// The file it was read from.
    source: Option<PathBuf>,
    values: Dict,
    /// How an error names a key of this layer (the path is its file key).
    key_name: fn(&Profile, &[&str]) -> String,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let metadata = Metadata::named(self.name).interpolater(self.key_name);
        match &self.source {
            Some(path) => metadata.source(path.as_path()),
            None => metadata,
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

fn dotted(_: &Profile, keys: &[&str]) -> String {
    keys.join(".")
}

fn env_name(_: &Profile, keys: &[&str]) -> String {
    let key = keys.join(".");
    variable(&key).map_or(key, str::to_string)
}

/// The declared defaults (those that are values; derived ones are worked out after merging).
pub fn defaults() -> Layer {
    let mut values = Dict::new();
    for setting in SETTINGS {
        let value = match setting.default {
            Fallback::Number(n) => Value::from(n),
            Fallback::Flag(b) => Value::from(b),
            Fallback::Text(text) => Value::from(text.to_string()),
            Fallback::Derived(_) => continue,
        };
        insert(&mut values, setting.key, value);
    }
    Layer {
        name: "the declared defaults",
        source: None,
        values,
        key_name: dotted,
    }
}

/// The config file's values.
pub fn file(values: Dict, source: Option<PathBuf>) -> Layer {
    Layer {
        name: "config file",
        source,
        values,
        key_name: dotted,
    }
}

/// The variables `env` sets to something other than blanks.
pub fn environment(env: &dyn Fn(&str) -> Option<String>) -> Layer {
    let mut values = Dict::new();
    for setting in SETTINGS {
        let Some(name) = setting.env else { continue };
        if let Some(text) = env(name).filter(|v| !v.trim().is_empty()) {
            insert(&mut values, setting.key, setting.value(&text));
        }
    }
    Layer {
        name: "the environment",
        source: None,
        values,
        key_name: env_name,
    }
}

/// Puts `value` at the dotted `key`, unless something is there already.
fn insert(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.entry(key.to_string()).or_insert(value);
        }
        Some((section, rest)) => {
            let inner = dict
                .entry(section.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = inner {
                insert(inner, rest, value);
            }
        }
    }
}

/// The settings for `--help`: each variable, its file key and its default, one a line.
pub fn help() -> String {
    let mut text = String::new();
    for setting in SETTINGS {
        let env = setting.env.unwrap_or("(file only)");
        text.push_str(&format!(
            "  {env:<34} {:<38} [default: {}]\n",
            setting.key, setting.default
        ));
    }
    text
}
