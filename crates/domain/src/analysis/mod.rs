//! Partner analysis: what a website and a language model say about a company, how that is
//! validated, and how well the company fits an organization's ideal partner profile.
//!
//! Everything here is pure but the ports ([`WebScraper`], [`LanguageModel`]); the use case that
//! ties them together is [`service`]; the storage ports are in
//! [`ports`].

pub mod heuristic;
pub mod ideal;
pub mod ladders;
pub mod model;
pub mod ports;
pub mod profile;
pub mod sanitize;
pub mod scoring;
pub mod service;
pub mod site;
pub mod text;

pub use model::{EnrichmentInput, LanguageModel, LanguageModelError, ModelAnswer, Subject};
pub use profile::{Confidence, EnrichedProfile, Insight};
pub use site::{
    EmployeeCount, JsonLdOrganization, PageExtract, SiteSnapshot, Source, SourceStatus, WebScraper,
};
