//! Object keys in URLs and on disk.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters is escaped, so a key segment can never
/// smuggle a `?`, `#` or `%` into the URL.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `key` percent-encoded segment by segment, its `/` separators kept.
pub(crate) fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// `base` (without trailing slashes) + `/` + the encoded key.
pub(crate) fn join_url(base: &str, key: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), encode_key(key))
}

/// Whether `key` can be used as a relative path below a root without escaping it.
pub(crate) fn is_safe_relative_key(key: &str) -> bool {
    !key.is_empty()
        && !key.contains("..")
        && !key.contains('\\')
        && !key.contains('\0')
        && !key.starts_with('/')
        // A drive prefix (`C:`) or a URL-looking key has no business on disk.
        && !key.contains(':')
        && key.split('/').all(|segment| !segment.is_empty() && segment != ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_each_segment_and_keeps_separators() {
        assert_eq!(encode_key("org/abc-1_2.png"), "org/abc-1_2.png");
        assert_eq!(encode_key("org/a b?c#d%e.png"), "org/a%20b%3Fc%23d%25e.png");
        assert_eq!(encode_key("été/ü.png"), "%C3%A9t%C3%A9/%C3%BC.png");
    }

    #[test]
    fn joins_without_double_slashes() {
        assert_eq!(
            join_url("http://h/files/", "a/b.png"),
            "http://h/files/a/b.png"
        );
        assert_eq!(
            join_url("http://h/files", "a/b.png"),
            "http://h/files/a/b.png"
        );
    }

    #[test]
    fn safe_keys() {
        for key in ["a.png", "org/uuid.png", "a/b/c.webp", "x.y.z"] {
            assert!(is_safe_relative_key(key), "{key}");
        }
        for key in [
            "",
            "..",
            "../x",
            "a/../b",
            "a/..",
            "/etc/passwd",
            "a\\b",
            "C:\\x",
            "c:x",
            "a//b",
            "a/",
            "./a",
            "a/./b",
            "a\0b",
        ] {
            assert!(!is_safe_relative_key(key), "{key:?}");
        }
    }
}
