//! Trailing-window debounce as a pure state machine: time is a parameter, so the rules are unit-tested
//! without a clock.
//!
//! A burst is a run of events whose gaps are all shorter than the window. The signal for a burst fires
//! `window` after its **last** event (trailing), not a fixed time after its first one, so a slow
//! multi-step save (write temp, fsync, rename, delete old) yields one signal, after the last step.
//! `max_wait` caps how long a never-ending stream of events can postpone the signal, so a file that is
//! rewritten continuously still reloads at least every `max_wait`.

use std::time::{Duration, Instant};

/// Pending-burst bookkeeping for one watcher.
#[derive(Debug, Clone)]
pub(crate) struct Debounce {
    window: Duration,
    max_wait: Duration,
    /// First and last event of the burst being collected, if any.
    burst: Option<(Instant, Instant)>,
}

impl Debounce {
    /// A debouncer firing `window` after the last event, or `max_wait` after the first one.
    pub(crate) fn new(window: Duration, max_wait: Duration) -> Self {
        Self {
            window,
            max_wait: max_wait.max(window),
            burst: None,
        }
    }

    /// Records one relevant event observed at `now`.
    pub(crate) fn event(&mut self, now: Instant) {
        self.burst = Some(match self.burst {
            None => (now, now),
            Some((first, last)) => (first, last.max(now)),
        });
    }

    /// When the pending burst is due to fire, or `None` when nothing is pending.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.burst
            .map(|(first, last)| (last + self.window).min(first + self.max_wait))
    }

    /// True (and the burst is consumed) when a burst is pending and `now` has reached its due time.
    pub(crate) fn fire(&mut self, now: Instant) -> bool {
        match self.due() {
            Some(due) if now >= due => {
                self.burst = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_millis(50);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feeds events at the given millisecond offsets and returns the offsets (ms) at which the
    /// debouncer fires when it is polled every millisecond up to `until`.
    fn check(events: &[u64], max_wait: u64, until: u64) -> Vec<u64> {
        #[allow(clippy::disallowed_methods)] // an arbitrary origin for a simulated timeline
        let t0 = Instant::now();
        let mut d = Debounce::new(W, ms(max_wait));
        let mut fired = Vec::new();
        for t in 0..=until {
            for _ in events.iter().filter(|&&e| e == t) {
                d.event(t0 + ms(t));
            }
            if d.fire(t0 + ms(t)) {
                fired.push(t);
            }
        }
        fired
    }

    #[test]
    fn nothing_pending_never_fires() {
        assert_eq!(check(&[], 1000, 500), Vec::<u64>::new());
    }

    #[test]
    fn single_event_fires_one_window_later() {
        assert_eq!(check(&[10], 1000, 500), vec![60]);
    }

    #[test]
    fn window_trails_the_last_event_of_a_burst() {
        // gaps of 40 ms < 50 ms: one burst; a fixed window from the first event would fire at 50
        assert_eq!(check(&[0, 40, 80, 120], 1000, 500), vec![170]);
    }

    #[test]
    fn a_gap_at_least_the_window_splits_bursts() {
        assert_eq!(check(&[0, 10, 100, 110], 1000, 500), vec![60, 160]);
    }

    #[test]
    fn max_wait_caps_a_never_ending_burst() {
        let events: Vec<u64> = (0..=400).step_by(20).collect();
        // fires at the cap (200 ms after the first event), then the rest forms a new burst
        assert_eq!(check(&events, 200, 600), vec![200, 420]);
    }

    #[test]
    fn max_wait_below_the_window_is_raised_to_the_window() {
        assert_eq!(check(&[0], 10, 200), vec![50]);
    }

    #[test]
    fn due_reports_the_trailing_deadline() {
        #[allow(clippy::disallowed_methods)] // an arbitrary origin for a simulated timeline
        let t0 = Instant::now();
        let mut d = Debounce::new(W, ms(1000));
        assert_eq!(d.due(), None);
        d.event(t0);
        d.event(t0 + ms(30));
        assert_eq!(d.due(), Some(t0 + ms(80)));
        assert!(!d.fire(t0 + ms(79)));
        assert!(d.fire(t0 + ms(80)));
        assert_eq!(d.due(), None);
    }
}
