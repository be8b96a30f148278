#![doc = include_str!("../README.md")]

pub mod config;
mod disabled;
pub mod extract;
pub mod fetch;
pub mod guard;
pub mod links;
pub mod pin;
pub mod resolve;
mod robots;
pub mod scrape;

pub use config::{MAX_BODY_BYTES, MAX_COMPANY_PAGES, MAX_REDIRECTS, ScraperConfig, USER_AGENT};
pub use disabled::NoScraping;
pub use fetch::{Document, FetchError, Fetcher, error_chain};
pub use guard::{AddressClass, Guard, GuardPolicy, Refusal, Target, classify};
pub use pin::{pinned_client, request_url};
pub use resolve::{Resolver, StaticResolver, SystemResolver};
pub use scrape::Scraper;
