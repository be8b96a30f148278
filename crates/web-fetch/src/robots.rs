//! robots.txt, fetched once per origin per scrape through the same guarded fetch.
//!
//! Following RFC 9309: a 4xx (or a robots.txt that cannot be had because of the guard, redirects
//! or size) allows everything; a 5xx disallows everything; an unreachable origin is reported as a
//! failed fetch (the page is not requested).

use crate::fetch::{FetchError, Fetcher};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

enum Verdict {
    AllowAll,
    Rules(Robot),
    DisallowAll,
    Unreachable(String),
}

/// The robots.txt verdicts of one scrape.
pub(crate) struct Robots<'a> {
    fetcher: &'a Fetcher,
    token: &'a str,
    origins: Mutex<HashMap<String, Arc<OnceCell<Verdict>>>>,
}

impl<'a> Robots<'a> {
    pub(crate) fn new(fetcher: &'a Fetcher, token: &'a str) -> Self {
        Self {
            fetcher,
            token,
            origins: Mutex::new(HashMap::new()),
        }
    }

    /// # Errors
    /// [`FetchError::RobotsDisallowed`], or [`FetchError::Connect`] when robots.txt is unreachable.
    /// (Boxed: a robots.txt fetch is itself a fetch, which checks robots.txt on redirects.)
    pub(crate) fn check<'s>(
        &'s self,
        url: &'s Url,
    ) -> Pin<Box<dyn Future<Output = Result<(), FetchError>> + Send + 's>> {
        Box::pin(self.check_inner(url))
    }

    async fn check_inner(&self, url: &Url) -> Result<(), FetchError> {
        let origin = url.origin().ascii_serialization();
        let cell = {
            let mut origins = self.origins.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(origins.entry(origin).or_default())
        };
        let verdict = cell.get_or_init(|| self.load(url)).await;
        match verdict {
            Verdict::AllowAll => Ok(()),
            Verdict::Rules(robot) if robot.allowed(url.as_str()) => Ok(()),
            Verdict::Rules(_) | Verdict::DisallowAll => Err(FetchError::RobotsDisallowed),
            Verdict::Unreachable(why) => Err(FetchError::Connect(format!(
                "robots.txt unreachable: {why}"
            ))),
        }
    }

    async fn load(&self, url: &Url) -> Verdict {
        let Ok(robots_url) = url.join("/robots.txt") else {
            return Verdict::AllowAll;
        };
        match self.fetcher.fetch_robots_txt(&robots_url).await {
            Ok(doc) if (200..300).contains(&doc.status) => {
                match Robot::new(self.token, &doc.body) {
                    Ok(robot) => Verdict::Rules(robot),
                    Err(e) => {
                        tracing::debug!(url = %robots_url, error = %e, "unparsable robots.txt");
                        Verdict::AllowAll
                    }
                }
            }
            Ok(doc) if (400..500).contains(&doc.status) => Verdict::AllowAll,
            Ok(_) => Verdict::DisallowAll,
            Err(
                e @ (FetchError::Resolve(_)
                | FetchError::Connect(_)
                | FetchError::Timeout
                | FetchError::Http(_)),
            ) => Verdict::Unreachable(e.to_string()),
            Err(e) => {
                tracing::debug!(url = %robots_url, error = %e, "robots.txt unavailable");
                Verdict::AllowAll
            }
        }
    }
}
