//! `partneros analyze`: re-analyzes every partner of an organization with a progress bar.

use crate::config::Config;
use crate::startup::{Externals, services};
use indicatif::{ProgressBar, ProgressStyle};
use partneros_domain::shared::clock::SystemClock;
use std::sync::Arc;

/// Analyzes the organization's partners one after another (the domain cache and single-flight
/// lease make repeated domains cheap) and prints a summary. Failures are listed, not fatal;
/// partners past the organization's daily limits are such failures (raise the limits for the
/// run to go past them).
pub async fn run(
    config: &Config,
    database_url: &str,
    organization: &str,
    refresh: bool,
) -> anyhow::Result<()> {
    let admin = crate::admin::Admin {
        db: partneros_postgres::connect(database_url, &Default::default())?,
        hasher: config.hasher()?,
    };
    let org = admin.organization_id(organization).await?;
    let services = services(
        config,
        database_url,
        Arc::new(SystemClock),
        Externals::from_config(config)?,
    )?;
    let analysis = services.state.analysis.clone();
    let ids = analysis.partner_ids(org).await?;
    let bar = ProgressBar::new(ids.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} partners ({eta} left) {msg}",
        )
        .expect("static template"),
    );
    let mut failed = Vec::new();
    for id in &ids {
        match analysis.analyze_in(org, *id, refresh).await {
            Ok(outcome) => bar.set_message(outcome.partner.name),
            Err(e) => {
                bar.println(format!("partner {id}: {e}"));
                failed.push(*id);
            }
        }
        bar.inc(1);
    }
    bar.finish_with_message("done");
    println!(
        "analyzed {} of {} partners with {}",
        ids.len() - failed.len(),
        ids.len(),
        analysis.enricher()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} partner(s) could not be analyzed", failed.len())
    }
}
