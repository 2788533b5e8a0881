//! The daemon's clock. Everything that depends on "now" takes it from here, so a demo or a test
//! can run the whole daemon at a fixed moment (`CLERK_NOW` or `daemon.fixed_now`).
//!
//! A fixed clock starts at the given moment and then runs at normal speed, so timers, retries
//! and reminders still advance while the daemon runs.

use std::time::Instant;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fixed: Option<(DateTime<Utc>, Instant)>,
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A clock that reads `start` now and runs on from there.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            fixed: Some((start, Instant::now())),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.fixed {
            None => Utc::now(),
            Some((start, at)) => {
                start + chrono::Duration::from_std(at.elapsed()).unwrap_or_default()
            }
        }
    }

    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_starts_where_told_and_runs_forward() {
        let start = DateTime::parse_from_rfc3339("2018-05-01T08:00:00+02:00")
            .expect("valid")
            .with_timezone(&Utc);
        let clock = Clock::starting_at(start);
        let a = clock.now();
        let b = clock.now();
        assert!(a >= start && a - start < chrono::Duration::seconds(5));
        assert!(b >= a);
        assert!(clock.is_fixed());
        assert!(!Clock::system().is_fixed());
    }
}
