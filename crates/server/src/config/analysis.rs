//! The partner analysis: background workers, outbound reads and daily limits.

use super::ConfigError;
use super::vars::{Vars, err};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// Background analysis workers in this process (`ANALYSIS_WORKERS`, 0 turns them off).
    pub workers: usize,
    /// How often an idle analysis worker looks for due jobs.
    pub poll: Duration,
    /// Whether analyses read partners' websites (`ANALYSIS_SCRAPE`); off, they use what is
    /// known without any outbound request to the partner.
    pub scrape: bool,
    /// Analyses with `?refresh=true` per organization per rolling day
    /// (`ANALYSIS_REFRESHES_PER_DAY`; 0 allows none).
    pub refreshes_per_day: u32,
    /// Analyses that call the language model per organization per rolling day
    /// (`LLM_CALLS_PER_DAY`; 0 allows none).
    pub llm_calls_per_day: u32,
}

impl AnalysisConfig {
    pub(super) fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let workers: usize = vars.number("ANALYSIS_WORKERS", 2)?;
        if workers > 64 {
            return Err(err("ANALYSIS_WORKERS", "must be between 0 and 64"));
        }
        Ok(Self {
            workers,
            poll: Duration::from_millis(1000),
            scrape: vars.bool("ANALYSIS_SCRAPE", true)?,
            refreshes_per_day: vars.number("ANALYSIS_REFRESHES_PER_DAY", 20)?,
            llm_calls_per_day: vars.number("LLM_CALLS_PER_DAY", 200)?,
        })
    }
}
