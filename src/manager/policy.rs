//! The refresh policy, in one place for every keeper of tokens: when a token is fresh, when it
//! is refreshed ahead on the library's own thread while callers keep it (the window), when a
//! caller must wait (the floor), which failures are ridden through (transient) and which are
//! Concur's verdict (permanent), and how long to wait between failed attempts (backoff).

use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// How long before its expiry an access token starts being refreshed ahead, by default.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// The least validity a caller is handed, by default: below it, a caller waits for a refresh.
pub const DEFAULT_FLOOR: Duration = Duration::from_secs(30);

/// The first pause after a failed refresh, before jitter.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest pause between two attempts after failures in a row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(120);

/// The longest window or floor accepted: a day, far beyond any token Concur issues.
const MAX_THRESHOLD: Duration = Duration::from_secs(24 * 3600);

/// Where a token stands against the policy at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Outside the window: handed out, nothing to do.
    Fresh,
    /// Inside the window, above the floor: handed out, and refreshed ahead in the background.
    Stale,
    /// Below the floor (or expired): not handed out; a caller waits for a refresh.
    Expired,
}

/// What a failed refresh means for the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// An outage (connection refused or reset, timeout, 5xx, 429, the store unreachable or its
    /// lock not had in time, …): tried again after a backoff, the current token served meanwhile.
    Transient,
    /// Concur's verdict (a bad or expired refresh token — code 108 —, a revoked connection, an
    /// unknown client, …): never tried again with the same credentials.
    Permanent,
}

/// The two thresholds and the backoff of a token keeper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    window: Duration,
    floor: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> RefreshPolicy {
        RefreshPolicy {
            window: DEFAULT_WINDOW,
            floor: DEFAULT_FLOOR,
        }
    }
}

impl RefreshPolicy {
    /// A policy refreshing ahead `window` before expiry and handing out nothing valid for less
    /// than `floor`. The floor must be below the window, and both at most a day.
    pub fn new(window: Duration, floor: Duration) -> Result<RefreshPolicy, Error> {
        if window > MAX_THRESHOLD {
            return Err(Error::invalid("the refresh window (margin) is over a day"));
        }
        if floor > MAX_THRESHOLD {
            return Err(Error::invalid("the floor is over a day"));
        }
        if floor >= window {
            return Err(Error::invalid(
                "the floor must be below the refresh window (margin)",
            ));
        }
        Ok(RefreshPolicy { window, floor })
    }

    /// A window with no floor (what a bare margin of 0 asks for), the window capped at a day.
    pub(crate) fn zero_floor(window: Duration) -> RefreshPolicy {
        RefreshPolicy {
            window: window.min(MAX_THRESHOLD),
            floor: Duration::ZERO,
        }
    }

    /// How long before expiry a refresh ahead starts.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The least validity a caller is handed.
    pub fn floor(&self) -> Duration {
        self.floor
    }

    /// Where a token with `left` validity stands.
    pub fn freshness(&self, left: Duration) -> Freshness {
        if left > self.window {
            Freshness::Fresh
        } else if left > self.floor {
            Freshness::Stale
        } else {
            Freshness::Expired
        }
    }

    /// What a failed refresh means: Concur refusing the credentials (or an argument it can never
    /// accept) is permanent; anything else may pass.
    pub fn classify(error: &Error) -> Failure {
        match error.kind() {
            ErrorKind::Unauthorized | ErrorKind::InvalidArgument => Failure::Permanent,
            _ => Failure::Transient,
        }
    }

    /// The pause before the next attempt after `failures` transient failures in a row (1 for
    /// the first): about 1 s, doubling, capped at [`MAX_BACKOFF`], with ±20 % jitter so that
    /// many holders do not retry in step.
    pub fn backoff(failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(16);
        let base = FIRST_BACKOFF
            .saturating_mul(1u32 << exponent)
            .min(MAX_BACKOFF);
        let jitter = crate::random::unit_interval(); // [0, 1)
        base.mul_f64(0.8 + 0.4 * jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_checked_and_order_the_states() {
        let p = RefreshPolicy::new(Duration::from_secs(300), Duration::from_secs(30)).unwrap();
        assert_eq!(p.freshness(Duration::from_secs(301)), Freshness::Fresh);
        assert_eq!(p.freshness(Duration::from_secs(300)), Freshness::Stale);
        assert_eq!(p.freshness(Duration::from_secs(31)), Freshness::Stale);
        assert_eq!(p.freshness(Duration::from_secs(30)), Freshness::Expired);
        assert_eq!(p.freshness(Duration::ZERO), Freshness::Expired);
        for (w, f) in [(30, 30), (30, 31), (90_000, 10), (300, 90_000)] {
            let e = RefreshPolicy::new(Duration::from_secs(w), Duration::from_secs(f));
            assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidArgument, "{w} {f}");
        }
    }

    #[test]
    fn backoff_doubles_from_about_a_second_and_is_capped() {
        for failures in 1..40 {
            let pause = RefreshPolicy::backoff(failures);
            let base = FIRST_BACKOFF
                .saturating_mul(1 << (failures - 1).min(16))
                .min(MAX_BACKOFF);
            assert!(pause >= base.mul_f64(0.8) && pause < base.mul_f64(1.2));
        }
    }

    #[test]
    fn only_concurs_verdict_is_permanent() {
        let refused = Error::new(ErrorKind::Unauthorized, "no");
        assert_eq!(RefreshPolicy::classify(&refused), Failure::Permanent);
        for kind in [
            ErrorKind::Connect,
            ErrorKind::Timeout,
            ErrorKind::HttpStatus,
            ErrorKind::Store,
        ] {
            let e = Error::new(kind, "x");
            assert_eq!(RefreshPolicy::classify(&e), Failure::Transient);
        }
    }
}
