//! How long to wait before the next attempt.

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// Beyond any budget worth having; keeps the float arithmetic of the jitter finite.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The wait a `Retry-After` header asks for: delta-seconds or an HTTP date (a date in the
/// past means now). `None` when absent or unreadable.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // Some servers send fractional seconds although the RFC does not allow them.
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The backoff after the `retry`-th failed attempt (1-based): `base · 2^(retry-1)`, with
/// "equal jitter" (a random point in its upper half) so that clients that failed together do
/// not come back together.
pub(crate) fn backoff(base: Duration, retry: u32) -> Duration {
    let exponential = base
        .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
        .min(MAX_BACKOFF);
    exponential.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_after(&headers(" 0 "), now), Some(Duration::ZERO));
        assert_eq!(
            retry_after(&headers("1.5"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&headers("-3"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_in_the_upper_half() {
        let base = Duration::from_millis(100);
        for (retry, full) in [(1, 100), (2, 200), (3, 400)] {
            for _ in 0..50 {
                let wait = backoff(base, retry);
                assert!(wait >= Duration::from_millis(full / 2), "{wait:?}");
                assert!(wait <= Duration::from_millis(full), "{wait:?}");
            }
        }
        // Absurd attempt numbers saturate instead of overflowing.
        assert!(backoff(base, 200) > Duration::from_secs(1));
    }
}
