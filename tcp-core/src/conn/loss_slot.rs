//! Where the SACK sender's state lives, by what it holds: nothing before the first data
//! is sent (or without SACK), the whole state while data is in flight, and a summary of
//! about 130 bytes while the connection is idle.
//!
//! The whole state (`Loss`: the RFC 6675 scoreboard, RACK-TLP, PRR, undo) is about
//! 650 bytes, and with nothing in flight almost all of it is empty or describes data
//! already delivered. [`LossSlot::rest`] keeps only the totals later flights go on from
//! and what RACK and the scoreboard learnt about reordering; readers at rest are answered
//! from them. [`LossSlot::awake`] builds the whole state again, as it would have been,
//! before anything changes it. The
//! `connection` fuzz target checks that a connection whose state rests at random points
//! behaves exactly as one whose state never does.

use super::loss::{Loss, TLP_MAX_ACK_DELAY};
use crate::recovery::{Rack, RackRest, Scoreboard, ScoreboardRest, Tlp, Undo};
use crate::seq::SeqNum;
use crate::time::Duration;
use alloc::boxed::Box;

/// The SACK sender's state of a connection.
#[derive(Debug, Default)]
pub(super) enum LossSlot {
    /// Nothing sent yet with SACK, or no SACK.
    #[default]
    Unused,
    /// Data is or was recently in flight.
    Active(Box<Loss>),
    /// Idle: what the next flight needs to go on as before.
    Resting(Box<LossRest>),
}

/// What the SACK sender's state keeps while it rests.
#[derive(Debug)]
pub(super) struct LossRest {
    sb: ScoreboardRest,
    rack: RackRest,
    min_rtt: Option<Duration>,
}

impl LossSlot {
    /// No SACK state was ever created.
    #[inline]
    pub(super) fn is_none(&self) -> bool {
        matches!(self, LossSlot::Unused)
    }

    /// SACK state exists, active or at rest.
    #[inline]
    pub(super) fn is_some(&self) -> bool {
        !self.is_none()
    }

    /// The whole state, if it is active. At rest there is nothing in flight, nothing
    /// lost and no timer: a reader that finds no state behaves as the rested state would
    /// have made it (what differs has its own reader below).
    #[inline]
    pub(super) fn active(&self) -> Option<&Loss> {
        match self {
            LossSlot::Active(l) => Some(l),
            _ => None,
        }
    }

    /// The whole state, if it is active, without waking it: for what does nothing at
    /// rest (timers that are not armed, a probe timeout that stays unarmed).
    #[inline]
    pub(super) fn active_mut(&mut self) -> Option<&mut Loss> {
        match self {
            LossSlot::Active(l) => Some(l),
            _ => None,
        }
    }

    /// The whole state, built again first if it was at rest. `snd_una` is SND.UNA, which
    /// has not moved while it rested (nothing was in flight).
    #[inline]
    pub(super) fn awake(&mut self, snd_una: SeqNum) -> Option<&mut Loss> {
        if let LossSlot::Resting(_) = self {
            self.wake(snd_una);
        }
        self.active_mut()
    }

    #[cold]
    #[inline(never)]
    fn wake(&mut self, snd_una: SeqNum) {
        if let LossSlot::Resting(r) = self {
            *self = LossSlot::Active(Box::new(Loss::from_rest(r, snd_una)));
        }
    }

    /// Lets the state rest if it is at rest: nothing in flight, no recovery, undo, probe
    /// or timer pending. The caller checks the connection's side (SND.UNA = SND.NXT =
    /// SND.MAX). Returns whether it now rests.
    pub(super) fn rest(&mut self) -> bool {
        let rest = match self {
            LossSlot::Active(l) => l.rest(),
            LossSlot::Resting(_) => return true,
            LossSlot::Unused => return false,
        };
        match rest {
            Some(r) => {
                *self = LossSlot::Resting(Box::new(r));
                true
            }
            None => false,
        }
    }

    /// SND.UNA as the state was when it began to rest, if it rests (for the invariants:
    /// nothing may be sent or acknowledged without waking it).
    pub(super) fn resting_una(&self) -> Option<SeqNum> {
        match self {
            LossSlot::Resting(r) => Some(r.sb.una()),
            _ => None,
        }
    }

    /// Whether the state is active and at rest, so [`LossSlot::rest`] would shrink it.
    pub(super) fn could_rest(&self) -> bool {
        self.active().is_some_and(|l| l.rest().is_some())
    }

    /// In SACK-based fast recovery (never at rest).
    #[inline]
    pub(super) fn in_recovery(&self) -> bool {
        self.active().is_some_and(|l| l.in_recovery())
    }

    /// The reordering degree in segments (3, `tcp_reordering`, before any state exists).
    pub(super) fn reordering(&self) -> u32 {
        match self {
            LossSlot::Unused => 3,
            LossSlot::Active(l) => l.sb.reordering(),
            LossSlot::Resting(r) => r.sb.reordering(),
        }
    }

    /// Reorderings detected (Linux's `tcpi_reord_seen`).
    pub(super) fn reord_seen(&self) -> u32 {
        match self {
            LossSlot::Unused => 0,
            LossSlot::Active(l) => l.sb.reord_seen(),
            LossSlot::Resting(r) => r.sb.reord_seen(),
        }
    }

    /// The last delivery-rate sample, bytes per second, and whether it was
    /// application-limited.
    pub(super) fn last_delivery_rate(&self) -> Option<(u64, bool)> {
        match self {
            LossSlot::Unused => None,
            LossSlot::Active(l) => l.sb.last_delivery_rate(),
            LossSlot::Resting(r) => r.sb.last_delivery_rate(),
        }
    }

    /// Marks the samples of what goes out next as application-limited (draft-cheng-
    /// iccrg-delivery-rate-estimation §3.4), with nothing in flight when at rest.
    pub(super) fn mark_app_limited(&mut self) {
        match self {
            LossSlot::Unused => {}
            LossSlot::Active(l) => l.sb.mark_app_limited(),
            LossSlot::Resting(r) => r.sb.mark_app_limited(),
        }
    }

    /// Heap bytes held, and what holds them.
    pub(super) fn heap(&self) -> Option<(&'static str, usize)> {
        match self {
            LossSlot::Unused => None,
            LossSlot::Active(_) => Some(("heap: SACK loss recovery", core::mem::size_of::<Loss>())),
            LossSlot::Resting(_) => Some((
                "heap: SACK loss recovery, at rest",
                core::mem::size_of::<LossRest>(),
            )),
        }
    }
}

impl Loss {
    /// What to keep while resting, if the state is at rest (see [`LossSlot::rest`]).
    fn rest(&self) -> Option<LossRest> {
        let idle = self.prr.is_none()
            && self.undo == Undo::new()
            && !self.tlp.in_flight()
            && self.reo_at.is_none()
            && self.pto_at.is_none()
            && !self.probe_due
            && !self.rescue;
        if !idle {
            return None;
        }
        Some(LossRest {
            sb: self.sb.rest()?,
            rack: self.rack.rest()?,
            min_rtt: self.min_rtt,
        })
    }

    /// The state again after resting, as it would have been.
    fn from_rest(r: &LossRest, snd_una: SeqNum) -> Self {
        Loss {
            sb: Scoreboard::from_rest(&r.sb, snd_una),
            rack: Rack::from_rest(&r.rack),
            tlp: Tlp::new(TLP_MAX_ACK_DELAY),
            prr: None,
            undo: Undo::new(),
            min_rtt: r.min_rtt,
            reo_at: None,
            pto_at: None,
            probe_due: false,
            rescue: false,
        }
    }
}
