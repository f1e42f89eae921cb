//! The state of the two probe timers, which most connections never run: the persist timer
//! that probes a zero window (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17) and keepalive
//! (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6). It is allocated when either starts and given back
//! when both are at rest, so an idle connection carries one empty pointer for them.

use crate::time::Instant;
use alloc::boxed::Box;

/// Persist and keepalive state (Linux's `icsk_probes_out`, `icsk_backoff` of the probe0
/// timer, and the keepalive probe count).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ProbeState {
    /// When the persist timer fires.
    pub(super) persist_at: Option<Instant>,
    /// The persist timer's backoff exponent (reset when the window opens).
    pub(super) persist_backoff: u32,
    /// Zero-window probes sent without an answer that moved anything.
    pub(super) persist_probes: u32,
    /// Keepalive probes sent without an answer.
    pub(super) keepalive_probes: u32,
    /// When the last keepalive probe went out (the next is due an interval later); set
    /// while `keepalive_probes` is not zero.
    pub(super) keepalive_last: Option<Instant>,
}

/// [`ProbeState`] allocated while it holds anything.
#[derive(Clone, Debug, Default)]
pub(super) struct ProbeTimers(Option<Box<ProbeState>>);

impl ProbeTimers {
    /// The state, if either timer has any.
    #[inline]
    pub(super) fn get(&self) -> Option<&ProbeState> {
        self.0.as_deref()
    }

    /// The state to change, allocated if needed.
    pub(super) fn get_mut(&mut self) -> &mut ProbeState {
        self.0.get_or_insert_with(Box::default)
    }

    /// When the persist timer fires.
    #[inline]
    pub(super) fn persist_at(&self) -> Option<Instant> {
        self.get().and_then(|p| p.persist_at)
    }

    /// The persist timer's backoff exponent.
    pub(super) fn persist_backoff(&self) -> u32 {
        self.get().map_or(0, |p| p.persist_backoff)
    }

    /// Unanswered zero-window probes.
    pub(super) fn persist_probes(&self) -> u32 {
        self.get().map_or(0, |p| p.persist_probes)
    }

    /// Unanswered keepalive probes.
    pub(super) fn keepalive_probes(&self) -> u32 {
        self.get().map_or(0, |p| p.keepalive_probes)
    }

    /// Changes the state with `f`, then gives the memory back if both timers are at rest.
    #[inline(always)]
    pub(super) fn update(&mut self, f: impl FnOnce(&mut ProbeState)) {
        if let Some(p) = self.0.as_deref_mut() {
            f(p);
            if *p == ProbeState::default() {
                self.0 = None;
            }
        }
    }

    /// Stops the persist timer.
    #[inline]
    pub(super) fn stop_persist(&mut self) {
        self.update(|p| p.persist_at = None);
    }

    /// The peer answered: no probe is outstanding (Linux clears `icsk_probes_out` on
    /// every acceptable segment).
    #[inline(always)]
    pub(super) fn answered(&mut self) {
        self.update(|p| {
            p.persist_probes = 0;
            p.keepalive_probes = 0;
            p.keepalive_last = None;
        });
    }

    /// Heap bytes held.
    pub(super) fn heap_bytes(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<ProbeState>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_exists_only_while_a_timer_holds_something() {
        let mut t = ProbeTimers::default();
        assert!(t.get().is_none());
        t.get_mut().persist_probes = 2;
        t.get_mut().keepalive_probes = 1;
        assert_eq!(t.persist_probes(), 2);
        t.answered();
        assert!(t.get().is_none(), "both counts back to zero: freed");
        t.get_mut().persist_at = Some(Instant::from_secs(1));
        t.get_mut().persist_backoff = 3;
        t.stop_persist();
        assert_eq!(t.persist_backoff(), 3, "the backoff outlives the timer");
        t.update(|p| p.persist_backoff = 0);
        assert!(t.get().is_none());
    }
}
