//! Readers shared by the definition and the answer checks: they pull typed values out of loose
//! JSON, recording every problem with its path.

use serde_json::{Map, Value};

use crate::shared::error::ValidationErrors;

pub(super) fn refuse_unknown(
    obj: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
    message: &str,
    errors: &mut ValidationErrors,
) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        errors.push(format!("{prefix}.{key}"), message);
    }
}

/// A boolean property; absent or `null` take the default.
pub(super) fn flag(
    raw: Option<&Value>,
    default: bool,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<bool> {
    match raw {
        None | Some(Value::Null) => Some(default),
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(path, "must be true or false");
            None
        }
    }
}

/// A trimmed string property: `Some(None)` when absent, `null` or blank, `None` after an error.
/// Newlines and tabs are kept only where the text is prose (`multiline`).
pub(super) fn optional_text(
    raw: Option<&Value>,
    max: usize,
    multiline: bool,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Option<String>> {
    let s = match raw {
        None | Some(Value::Null) => return Some(None),
        Some(Value::String(s)) => s.trim(),
        Some(_) => {
            errors.push(path, "must be a string");
            return None;
        }
    };
    if s.is_empty() {
        return Some(None);
    }
    if s.chars().count() > max {
        errors.push(path, format!("must be at most {max} characters"));
        return None;
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        errors.push(path, "must not contain control characters");
        return None;
    }
    Some(Some(s.to_owned()))
}

pub(super) fn required_text(
    raw: Option<&Value>,
    max: usize,
    multiline: bool,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<String> {
    match optional_text(raw, max, multiline, path, errors) {
        Some(Some(s)) => Some(s),
        Some(None) => {
            errors.push(path, format!("must be 1 to {max} characters"));
            None
        }
        None => None,
    }
}

pub(super) fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

/// The host of what follows `scheme://`, lowercased, or `None` when there is none. Deliberately
/// small: no credentials (they only serve to disguise the real host), an optional numeric port,
/// and host characters that can appear in a DNS name, an IPv4 or a bracketed IPv6 address.
pub(super) fn url_host(rest: &str) -> Option<String> {
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let addr = &authority[1..end];
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return None;
        }
        let after = &authority[end + 1..];
        let port = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':')?)
        };
        (&authority[..=end], port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let plain_host = host.starts_with('[')
        || (!host.is_empty()
            && !host.starts_with(['.', '-'])
            && host
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_')));
    plain_host.then(|| host.to_lowercase())
}
