//! Whether and when a call is sent again: 429/502/503/504 within the deadline, honouring
//! `Retry-After`, never for a request that must not reach Concur twice. It decides from plain
//! facts (status, `Retry-After`, time left), so it stands below the transport that uses it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whether a request may be sent again after it may have reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Sending it twice does no harm (a password grant, a revocation, the Native Flow).
    Allowed,
    /// Sending it twice could burn a single-use value (a refresh token that rotates, a code).
    Never,
}

/// The retry budget of a client.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    retries: u32,
}

/// Without a `Retry-After`, the first retry waits this long, and each later one twice as long.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Time kept in hand after a wait, so that the retried request itself can still finish.
const MARGIN: Duration = Duration::from_millis(100);

impl RetryPolicy {
    pub(crate) fn new(retries: u32) -> RetryPolicy {
        RetryPolicy { retries }
    }

    /// How long to wait before sending again, or `None` to hand the answer to the caller,
    /// from the answer's `status` and `Retry-After` (`retry_after`) and the time `remaining`
    /// before the deadline.
    pub(crate) fn wait_before_retry(
        &self,
        resend: Resend,
        attempt: u32,
        status: u16,
        retry_after: Option<Duration>,
        remaining: Duration,
    ) -> Option<Duration> {
        if resend == Resend::Never
            || attempt >= self.retries
            || !matches!(status, 429 | 502 | 503 | 504)
        {
            return None;
        }
        let wait = retry_after.unwrap_or_else(|| FIRST_BACKOFF * 2u32.saturating_pow(attempt));
        (wait + MARGIN < remaining).then_some(wait)
    }
}

/// Reads a `Retry-After` value: delay seconds, or an HTTP date (IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT`) turned into the wait from now (zero when past).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = parse_http_date(value)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Duration::from_secs(at.saturating_sub(now).max(0) as u64))
}

/// IMF-fixdate (RFC 9110 §5.6.7) as Unix seconds.
fn parse_http_date(value: &str) -> Option<i64> {
    let (_, rest) = value.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    crate::calendar::unix_seconds((year, month, day), (h, m, s), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        for bad in [
            "",
            "-1",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sat, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }

    #[test]
    fn which_answers_are_retried() {
        let p = RetryPolicy::new(2);
        let plenty = Duration::from_secs(30);
        // A 503 asking for one second.
        let a = Some(Duration::from_secs(1));
        assert_eq!(
            p.wait_before_retry(Resend::Allowed, 0, 503, a, plenty),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.wait_before_retry(Resend::Allowed, 2, 503, a, plenty),
            None,
            "budget spent"
        );
        assert_eq!(
            p.wait_before_retry(Resend::Never, 0, 503, a, plenty),
            None,
            "never resent"
        );
        assert_eq!(
            p.wait_before_retry(Resend::Allowed, 0, 503, a, Duration::from_millis(900)),
            None,
            "the wait does not fit in the deadline"
        );
        for status in [429, 502, 504] {
            assert!(
                p.wait_before_retry(Resend::Allowed, 0, status, None, plenty)
                    .is_some()
            );
        }
        for status in [200, 400, 401, 500, 501] {
            assert!(
                p.wait_before_retry(Resend::Allowed, 0, status, None, plenty)
                    .is_none()
            );
        }
        assert_eq!(
            p.wait_before_retry(Resend::Allowed, 1, 503, None, plenty),
            Some(Duration::from_millis(500)),
            "backoff doubles without Retry-After"
        );
        assert!(
            RetryPolicy::new(0)
                .wait_before_retry(Resend::Allowed, 0, 503, a, plenty)
                .is_none()
        );
    }
}
