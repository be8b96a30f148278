//! A bound on element nesting before parsing.
//!
//! html5ever's tree builder walks the stack of open elements for many start tags, so parsing is
//! quadratic in the nesting depth (50 000 nested `<div>`s take minutes). Real pages nest a few
//! dozen levels; the document is cut where an approximate depth exceeds a generous bound.

/// Approximate nesting depth at which a document is cut.
pub(crate) const MAX_NESTING: usize = 256;

/// Elements with no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound",
];

/// Elements often left open that the parser closes by itself (so they do not nest), and the
/// document-level ones.
const SELF_CLOSING_IN_PRACTICE: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rb", "rt", "rp", "rtc", "html", "head", "body",
];

/// Elements whose content is raw text up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// The prefix of `html` in which the approximate nesting depth stays within `max`.
pub(crate) fn bounded_nesting(html: &str, max: usize) -> &str {
    let b = html.as_bytes();
    let mut depth = 0usize;
    let mut foreign = 0usize;
    let mut i = 0;
    while let Some(offset) = b[i..].iter().position(|&c| c == b'<') {
        let start = i + offset;
        let rest = &b[start + 1..];
        if rest.starts_with(b"!--") {
            match find(b, start + 4, b"-->") {
                Some(end) => i = end + 3,
                None => return html,
            }
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = start + 1 + usize::from(closing);
        let name_len = b[name_start..]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .unwrap_or(b.len() - name_start);
        if name_len == 0 || !b[name_start].is_ascii_alphabetic() {
            i = start + 1;
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let Some(tag_end) = b[name_start..].iter().position(|&c| c == b'>') else {
            return html;
        };
        let tag_end = name_start + tag_end;
        i = tag_end + 1;
        let counted =
            !VOID.contains(&name.as_str()) && !SELF_CLOSING_IN_PRACTICE.contains(&name.as_str());
        let is_foreign_root = name == "svg" || name == "math";
        if closing {
            if counted {
                depth = depth.saturating_sub(1);
            }
            if is_foreign_root {
                foreign = foreign.saturating_sub(1);
            }
            continue;
        }
        if name == "plaintext" {
            return html;
        }
        // `<x/>` closes itself in SVG and MathML only.
        let self_closed = b[tag_end - 1] == b'/' && (foreign > 0 || is_foreign_root);
        if counted && !self_closed {
            depth += 1;
            if depth > max {
                return &html[..start];
            }
            if is_foreign_root {
                foreign += 1;
            }
        }
        if RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            match find_ignore_case(b, i, close.as_bytes()) {
                Some(end) => i = end,
                None => return html,
            }
        }
    }
    html
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_ignore_case(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::tests::{ABOUT, HOME, PARTNERS, SERVICES};

    #[test]
    fn ordinary_pages_are_untouched() {
        for html in [HOME, ABOUT, SERVICES, PARTNERS] {
            assert_eq!(bounded_nesting(html, 8), html);
        }
        let sloppy = format!(
            "<ul>{}</ul><table>{}</table><p>{}",
            "<li>item".repeat(1000),
            "<tr><td>cell".repeat(1000),
            "<p>para<br>".repeat(1000)
        );
        assert_eq!(bounded_nesting(&sloppy, 8), sloppy);
        let svg = format!("<div><svg>{}</svg></div>", "<path d='M0'/>".repeat(1000));
        assert_eq!(bounded_nesting(&svg, 8), svg);
        let script = format!("<script>{}</SCRIPT><p>after", "'<div>'+".repeat(1000));
        assert_eq!(bounded_nesting(&script, 8), script);
        let comment = format!("<!-- {} --><p>after", "<div>".repeat(1000));
        assert_eq!(bounded_nesting(&comment, 8), comment);
    }

    #[test]
    fn deep_nesting_is_cut_at_the_bound() {
        let html = format!("<p>top</p>{}deep", "<div>".repeat(10));
        assert_eq!(bounded_nesting(&html, 3), "<p>top</p><div><div><div>");
        // `<div/>` does not close itself in HTML.
        let slashes = "<div/>".repeat(10);
        assert_eq!(bounded_nesting(&slashes, 3), "<div/>".repeat(3));
        // Closing tags bring the depth back down.
        let balanced = "<div><div></div></div>".repeat(100);
        assert_eq!(bounded_nesting(&balanced, 3), balanced);
    }

    #[test]
    fn unterminated_constructs_end_the_scan() {
        for html in [
            "<div",
            "<!-- open",
            "<script>never closed <div><div>",
            "<plaintext><div><div>",
        ] {
            assert_eq!(bounded_nesting(html, 1), html);
        }
        assert_eq!(bounded_nesting("a < b <3 </ >", 1), "a < b <3 </ >");
    }
}
