//! Completion-aware trailing-window debounce as a pure state machine: time is a parameter, so the
//! rules are unit-tested without a clock.
//!
//! A burst is a run of events whose gaps are all shorter than the window in force. Each event is
//! classified ([`Step`]):
//! - [`Step::Progress`] (data written, something created or moved away): the signal fires `window`
//!   after it (trailing), so a slow multi-step save (write temp, fsync, rename, delete old) yields one
//!   signal, after its last step.
//! - [`Step::Completion`] (a file closed after writing, something renamed into place): the write is
//!   finished, so the remaining wait shrinks to the short `settle` window measured from this event;
//!   steps that follow within `settle` still join the burst.
//! - [`Step::Neutral`] (removals, metadata changes): extends the burst by the window currently in
//!   force (full or settle), and starts a burst with the full window. A removal alone does not mean
//!   a write finished: delete + re-create and "move the old file away, write a new one" must not
//!   reload in between, while a cleanup after a rename into place (the old Kubernetes `..<timestamp>`
//!   directory) must not re-arm the full window.
//!
//! A later progress event re-arms the full window. `max_wait` caps how long a never-ending stream of
//! events can postpone the signal, so a file that is rewritten continuously still reloads at least
//! every `max_wait`.

use std::time::{Duration, Instant};

/// What an event says about the write it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// More may follow: wait a full window after it.
    Progress,
    /// A write finished: wait only the settle window after it.
    Completion,
    /// Neither: extend the burst by the window currently in force.
    Neutral,
}

/// Pending-burst bookkeeping for one watcher.
#[derive(Debug, Clone)]
pub(crate) struct Debounce {
    window: Duration,
    settle: Duration,
    max_wait: Duration,
    burst: Option<Burst>,
}

#[derive(Debug, Clone, Copy)]
struct Burst {
    first: Instant,
    last: Instant,
    /// Whether the last non-neutral event was a completion (the settle window is in force).
    settling: bool,
}

impl Debounce {
    /// A debouncer firing `window` after the last progress event, `settle` after a completion
    /// (at most `window`), and at the latest `max_wait` (at least `window`) after the first event.
    pub(crate) fn new(window: Duration, settle: Duration, max_wait: Duration) -> Self {
        Self {
            window,
            settle: settle.min(window),
            max_wait: max_wait.max(window),
            burst: None,
        }
    }

    /// Records one relevant event of kind `step` observed at `now`.
    pub(crate) fn event(&mut self, now: Instant, step: Step) {
        self.burst = Some(match self.burst {
            None => Burst {
                first: now,
                last: now,
                settling: step == Step::Completion,
            },
            Some(b) => Burst {
                first: b.first,
                last: b.last.max(now),
                settling: match step {
                    Step::Progress => false,
                    Step::Completion => true,
                    Step::Neutral => b.settling,
                },
            },
        });
    }

    /// When the pending burst is due to fire, or `None` when nothing is pending.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.burst.map(|b| {
            let wait = if b.settling { self.settle } else { self.window };
            (b.last + wait).min(b.first + self.max_wait)
        })
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
    use super::Step::{Completion as C, Neutral as N, Progress as P};
    use super::*;

    const W: Duration = Duration::from_millis(50);
    const S: Duration = Duration::from_millis(5);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feeds events at the given millisecond offsets and returns the offsets (ms) at which the
    /// debouncer fires when it is polled every millisecond up to `until`.
    fn run(events: &[(u64, Step)], settle: Duration, max_wait: u64, until: u64) -> Vec<u64> {
        #[allow(clippy::disallowed_methods)] // an arbitrary origin for a simulated timeline
        let t0 = Instant::now();
        let mut d = Debounce::new(W, settle, ms(max_wait));
        let mut fired = Vec::new();
        for t in 0..=until {
            for (_, step) in events.iter().filter(|(e, _)| *e == t) {
                d.event(t0 + ms(t), *step);
            }
            if d.fire(t0 + ms(t)) {
                fired.push(t);
            }
        }
        fired
    }

    /// Only progress events: the plain trailing window.
    fn check(events: &[u64], max_wait: u64, until: u64) -> Vec<u64> {
        let events: Vec<(u64, Step)> = events.iter().map(|&t| (t, P)).collect();
        run(&events, S, max_wait, until)
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
    fn completion_shortens_the_wait_to_the_settle_window() {
        // truncate, write, close-after-write: fires 5 ms after the close, not 50 ms after the write
        assert_eq!(run(&[(0, P), (1, P), (2, C)], S, 1000, 500), vec![7]);
        // a completion alone (rename into place) settles too
        assert_eq!(run(&[(10, C)], S, 1000, 500), vec![15]);
    }

    #[test]
    fn a_later_progress_event_re_arms_the_full_window() {
        // the close was not the end: another write follows within the settle window
        assert_eq!(run(&[(0, P), (2, C), (4, P)], S, 1000, 500), vec![54]);
        // and a completion after that settles again
        assert_eq!(
            run(&[(0, P), (2, C), (4, P), (30, C)], S, 1000, 500),
            vec![35]
        );
    }

    #[test]
    fn completions_within_the_settle_window_coalesce() {
        // several files closed / renamed in quick succession: one signal after the last
        assert_eq!(
            run(&[(0, C), (3, C), (6, C), (9, C)], S, 1000, 500),
            vec![14]
        );
        // a gap of at least the settle window after a completion splits the burst
        assert_eq!(run(&[(0, C), (6, C)], S, 1000, 500), vec![5, 11]);
    }

    #[test]
    fn neutral_events_keep_the_window_in_force() {
        // a removal alone (or first, as in delete + re-create) waits the full window
        assert_eq!(run(&[(0, N)], S, 1000, 500), vec![50]);
        assert_eq!(run(&[(0, N), (1, P), (2, C)], S, 1000, 500), vec![7]);
        // cleanup after a rename into place stays in the settle window
        assert_eq!(
            run(&[(0, P), (10, C), (12, N), (14, N)], S, 1000, 500),
            vec![19]
        );
        // and during a write it extends the full window
        assert_eq!(run(&[(0, P), (20, N)], S, 1000, 500), vec![70]);
    }

    #[test]
    fn settle_is_at_most_the_window_and_max_wait_still_caps() {
        // settle longer than the window: the plain trailing window
        assert_eq!(run(&[(0, P), (2, C)], ms(500), 1000, 500), vec![52]);
        // completions every 4 ms never leave a 5 ms gap: the cap fires
        let events: Vec<(u64, Step)> = (0..=100).step_by(4).map(|t| (t, C)).collect();
        assert_eq!(run(&events, S, 60, 200), vec![60, 105]);
    }

    #[test]
    fn due_reports_the_trailing_deadline() {
        #[allow(clippy::disallowed_methods)] // an arbitrary origin for a simulated timeline
        let t0 = Instant::now();
        let mut d = Debounce::new(W, S, ms(1000));
        assert_eq!(d.due(), None);
        d.event(t0, P);
        d.event(t0 + ms(30), P);
        assert_eq!(d.due(), Some(t0 + ms(80)));
        d.event(t0 + ms(31), C);
        assert_eq!(d.due(), Some(t0 + ms(36)));
        assert!(!d.fire(t0 + ms(35)));
        assert!(d.fire(t0 + ms(36)));
        assert_eq!(d.due(), None);
    }
}
