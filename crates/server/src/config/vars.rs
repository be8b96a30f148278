//! Reading variables and the checks shared by several settings.

use super::ConfigError;
use std::collections::HashMap;

pub(super) fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Reads settings from a map of variables (the process environment in production).
pub struct Vars(pub HashMap<String, String>);

impl Vars {
    pub fn from_env() -> Self {
        Self(std::env::vars().collect())
    }

    /// A set variable, trimmed; blank counts as unset.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    pub(super) fn bool(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(err(key, format!("expected true or false, got {other:?}"))),
        }
    }

    pub(super) fn number<T: std::str::FromStr>(
        &self,
        key: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| err(key, format!("expected a number, got {v:?}"))),
        }
    }
}

pub(super) fn http_url(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| err(variable, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(err(variable, "must be an http(s) URL"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A bare origin (`scheme://host[:port]`), in the form browsers send in `Origin`.
pub(super) fn origin(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let bare = "must be bare origins (scheme://host[:port], e.g. https://app.example.com)";
    let url =
        url::Url::parse(value).map_err(|e| err(variable, format!("{value:?}: {e}; {bare}")))?;
    let is_bare = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !is_bare {
        return Err(err(variable, format!("{value:?}: {bare}")));
    }
    Ok(url.origin().ascii_serialization())
}
