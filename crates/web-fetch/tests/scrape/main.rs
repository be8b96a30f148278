//! The scraper against local fixture sites. Every server is on 127.0.0.0/8 (or `::1`); names are
//! resolved by a static resolver, and only the fixture sites' exact socket addresses are
//! allow-listed.

mod limits;
mod site;
mod ssrf;
mod support;
