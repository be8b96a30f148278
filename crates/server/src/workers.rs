//! Background analysis workers: each loops claiming due jobs from the Postgres queue (any number
//! of instances may run them; `FOR UPDATE SKIP LOCKED` hands each job to one worker) until
//! told to stop, and finishes the job in hand before it stops.

use partneros_domain::analysis::service::AnalysisService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` workers (none for 0).
    pub fn start(service: Arc<AnalysisService>, count: usize, poll: Duration) -> Self {
        let (stop, stopped) = watch::channel(false);
        let handles = (0..count)
            .map(|i| {
                let service = service.clone();
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    tracing::debug!(worker = i, "analysis worker started");
                    while !*stopped.borrow() {
                        let idle = match service.run_next_job().await {
                            Ok(ran) => !ran,
                            Err(e) => {
                                tracing::warn!(error = %e, "analysis worker could not reach the queue");
                                true
                            }
                        };
                        if idle {
                            tokio::select! {
                                _ = tokio::time::sleep(poll) => {}
                                _ = stopped.changed() => {}
                            }
                        }
                    }
                })
            })
            .collect();
        Self { stop, handles }
    }

    /// Asks every worker to stop and waits (up to `grace`) for the jobs in hand to finish.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures::future::join_all(self.handles);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("analysis workers did not finish in time; their jobs will be retried");
        }
    }
}
