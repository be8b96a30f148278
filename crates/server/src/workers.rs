//! Background loops: analysis workers, the outbox relay and the webhook senders. Each loops
//! doing rounds of work from PostgreSQL (any number of instances may run them; `FOR UPDATE SKIP
//! LOCKED` and leases hand each item to one of them) until told to stop, and finishes the round
//! in hand before it stops.

use async_trait::async_trait;
use partneros_domain::analysis::service::AnalysisService;
use partneros_domain::outbox::Relay;
use partneros_domain::webhooks::worker::WebhookWorker;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One round of a background loop.
#[async_trait]
pub trait Round: Send + Sync + 'static {
    const NAME: &'static str;
    /// Whether the round found work (an idle loop sleeps before the next round).
    async fn round(&self) -> bool;
}

#[async_trait]
impl Round for AnalysisService {
    const NAME: &'static str = "analysis";
    async fn round(&self) -> bool {
        match self.run_next_job().await {
            Ok(ran) => ran,
            Err(e) => {
                tracing::warn!(error = %e, "analysis worker could not reach the queue");
                false
            }
        }
    }
}

#[async_trait]
impl Round for Relay {
    const NAME: &'static str = "outbox relay";
    async fn round(&self) -> bool {
        match self.run_once().await {
            Ok(report) => report.claimed > 0,
            Err(e) => {
                tracing::warn!(error = %e, "the outbox relay could not reach the outbox");
                false
            }
        }
    }
}

#[async_trait]
impl Round for WebhookWorker {
    const NAME: &'static str = "webhook sender";
    async fn round(&self) -> bool {
        match self.run_once().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "the webhook sender could not reach its queue");
                false
            }
        }
    }
}

#[derive(Default)]
pub struct Workers {
    stops: Vec<watch::Sender<bool>>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` loops of `work` (none for 0), sleeping `poll` when idle.
    pub fn start<R: Round>(&mut self, work: Arc<R>, count: usize, poll: Duration) {
        let (stop, stopped) = watch::channel(false);
        self.stops.push(stop);
        self.handles.extend((0..count).map(|i| {
            let work = work.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                tracing::debug!(worker = i, kind = R::NAME, "background worker started");
                while !*stopped.borrow() {
                    if !work.round().await {
                        tokio::select! {
                            () = tokio::time::sleep(poll) => {}
                            _ = stopped.changed() => {}
                        }
                    }
                }
            })
        }));
    }

    /// Asks every loop to stop and waits (up to `grace`) for the rounds in hand to finish.
    pub async fn stop(self, grace: Duration) {
        for stop in &self.stops {
            let _ = stop.send(true);
        }
        let all = futures::future::join_all(self.handles);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("background workers did not finish in time; their work will be retried");
        }
    }
}
