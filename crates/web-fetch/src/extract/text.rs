//! Visible text and the bounding of strings.

use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node, Selector};
use std::sync::LazyLock;

/// Elements whose content is never visible text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas",
    "select",
];

/// Elements that separate words (so `<p>a</p><p>b</p>` reads `a b`, `a<b>c</b>` reads `ac`).
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
    "option",
    "button",
    "label",
    "img",
    "input",
    "textarea",
    "summary",
    "details",
];

static MAIN: LazyLock<Selector> = LazyLock::new(|| sel("main, [role=main]"));
static ARTICLE: LazyLock<Selector> = LazyLock::new(|| sel("article"));
static BODY: LazyLock<Selector> = LazyLock::new(|| sel("body"));

pub(crate) fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("invalid built-in selector {css}: {e}"))
}

/// The main visible text: of `<main>`, else the first `<article>`, else `<body>`; whitespace
/// collapsed, at most `max` characters.
pub(crate) fn visible(doc: &Html, max: usize) -> String {
    let root = doc
        .select(&MAIN)
        .next()
        .or_else(|| doc.select(&ARTICLE).next())
        .or_else(|| doc.select(&BODY).next())
        .unwrap_or_else(|| doc.root_element());
    let mut out = Collapser::new(max);
    let mut skip_depth = 0usize;
    // `traverse` is iterative: deeply nested documents cannot exhaust the stack.
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) => {
                    if skip_depth > 0 || skipped(e) {
                        skip_depth += 1;
                    } else if BLOCKS.contains(&e.name()) {
                        out.space();
                    }
                }
                Node::Text(t) if skip_depth == 0 => out.push(t),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    if skip_depth > 0 {
                        skip_depth -= 1;
                    } else if BLOCKS.contains(&e.name()) {
                        out.space();
                    }
                }
            }
        }
        if out.full() {
            break;
        }
    }
    out.finish()
}

fn skipped(e: &scraper::node::Element) -> bool {
    SKIPPED.contains(&e.name())
        || e.attr("hidden").is_some()
        || e.attr("aria-hidden")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The text of an element, whitespace collapsed, at most `max` characters, `None` when empty.
pub(crate) fn element_text(e: ElementRef<'_>, max: usize) -> Option<String> {
    let mut out = Collapser::new(max);
    for t in e.text() {
        out.push(t);
        if out.full() {
            break;
        }
    }
    non_empty(out.finish())
}

/// `s` with whitespace collapsed, at most `max` characters, `None` when empty.
pub(crate) fn bounded(s: &str, max: usize) -> Option<String> {
    let mut out = Collapser::new(max);
    out.push(s);
    non_empty(out.finish())
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Cuts `s` to at most `max` characters, at a word boundary when one is near.
pub fn truncate(s: &mut String, max: usize) {
    let Some((cut, _)) = s.char_indices().nth(max) else {
        return;
    };
    let head = &s[..cut];
    let at = match head.rfind(' ') {
        Some(space) if head[space..].chars().count() <= 40 => space,
        _ => cut,
    };
    s.truncate(at);
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
}

/// Appends text with runs of whitespace collapsed to one space, up to a bound (with some slack,
/// so that [`truncate`] can find a word boundary).
struct Collapser {
    out: String,
    chars: usize,
    max: usize,
    pending_space: bool,
}

impl Collapser {
    fn new(max: usize) -> Self {
        Self {
            out: String::new(),
            chars: 0,
            max,
            pending_space: false,
        }
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    fn push(&mut self, text: &str) {
        for c in text.chars() {
            if self.full() {
                return;
            }
            if c.is_whitespace() || c.is_control() {
                self.pending_space = true;
                continue;
            }
            if self.pending_space && !self.out.is_empty() {
                self.out.push(' ');
                self.chars += 1;
            }
            self.pending_space = false;
            self.out.push(c);
            self.chars += 1;
        }
    }

    fn full(&self) -> bool {
        self.chars > self.max
    }

    fn finish(mut self) -> String {
        truncate(&mut self.out, self.max);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_cuts_at_a_word_boundary_when_near() {
        let mut s = "alpha beta gamma".to_owned();
        truncate(&mut s, 13);
        assert_eq!(s, "alpha beta");
        let mut s = "x".repeat(100);
        truncate(&mut s, 10);
        assert_eq!(s, "x".repeat(10));
        let mut s = "ääää".to_owned();
        truncate(&mut s, 2);
        assert_eq!(s, "ää");
        let mut s = "short".to_owned();
        truncate(&mut s, 10);
        assert_eq!(s, "short");
    }

    #[test]
    fn bounded_collapses_whitespace_and_drops_empty() {
        assert_eq!(
            bounded("  a \n\t b\u{a0} c ", 100).as_deref(),
            Some("a b c")
        );
        assert_eq!(bounded(" \n ", 100), None);
        assert_eq!(
            bounded(&"word ".repeat(100), 12).as_deref(),
            Some("word word")
        );
    }

    #[test]
    fn visible_text_skips_invisible_content_and_separates_blocks() {
        let doc = Html::parse_document(
            "<html><head><title>T</title><style>p{}</style></head><body>\
             <script>var x = 1;</script><noscript>enable js</noscript>\
             <template><p>tpl</p></template><svg><text>svg</text></svg>\
             <p>Hello <b>Wor</b>ld</p><p>second\n\n   para</p><div hidden>secret</div>\
             <ul><li>one</li><li>two</li></ul></body></html>",
        );
        assert_eq!(visible(&doc, 1000), "Hello World second para one two");
    }

    #[test]
    fn visible_text_prefers_main_then_article() {
        let doc = Html::parse_document(
            "<body><nav>Menu</nav><article>Post</article><main><h1>Main</h1> text</main></body>",
        );
        assert_eq!(visible(&doc, 1000), "Main text");
        let doc = Html::parse_document("<body><nav>Menu</nav><article>Post</article></body>");
        assert_eq!(visible(&doc, 1000), "Post");
        let doc = Html::parse_document("<body><nav>Menu</nav><p>Body</p></body>");
        assert_eq!(visible(&doc, 1000), "Menu Body");
    }

    #[test]
    fn visible_text_is_bounded() {
        let html = format!("<body><p>{}</p></body>", "lorem ipsum ".repeat(10_000));
        let text = visible(&Html::parse_document(&html), 100);
        assert!(text.chars().count() <= 100, "{}", text.len());
        assert!(text.starts_with("lorem ipsum lorem"));
        assert!(text.ends_with("lorem") || text.ends_with("ipsum"));
    }

    #[test]
    fn deep_traversal_does_not_overflow() {
        // Below the nesting bound of `page`, but deep enough for a recursive walk to hurt.
        let html = format!("{}deep{}", "<span>".repeat(2_000), "</span>".repeat(2_000));
        let text = visible(&Html::parse_document(&html), 100);
        assert_eq!(text, "deep");
    }
}
