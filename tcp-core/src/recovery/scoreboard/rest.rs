//! A scoreboard at rest: with nothing in flight, everything a scoreboard holds is either
//! empty or a total that the next flight goes on from. [`Scoreboard::rest`] keeps only
//! those totals, so an idle connection can give the rest back, and
//! [`Scoreboard::from_rest`] builds a scoreboard that behaves as the original would
//! have.

use super::Scoreboard;
use crate::recovery::rate::{RateEstimator, RateRest};
use crate::seq::SeqNum;

/// DupThresh as the scoreboard starts (RFC 6675 §2); only tests change it.
const DUP_THRESH: u32 = 3;

/// What a scoreboard with nothing in flight carries into the next flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScoreboardRest {
    /// SND.UNA's offset: the next flight's offsets continue from it, so a D-SACK for
    /// data long acknowledged is placed as before.
    una_abs: u64,
    max_flight: u64,
    total_retrans: u64,
    dsack_dups: u64,
    smss: u32,
    max_intervals: u32,
    max_segments: u32,
    reordering: u32,
    reord_seen: u32,
    rate: RateRest,
}

impl ScoreboardRest {
    /// SND.UNA when the scoreboard began to rest.
    pub(crate) fn una(&self) -> SeqNum {
        SeqNum::new(self.una_abs as u32)
    }

    /// The reordering degree in segments ([`Scoreboard::reordering`]).
    pub(crate) fn reordering(&self) -> u32 {
        self.reordering
    }

    /// Reorderings detected ([`Scoreboard::reord_seen`]).
    pub(crate) fn reord_seen(&self) -> u32 {
        self.reord_seen
    }

    /// [`Scoreboard::mark_app_limited`] with nothing in flight.
    pub(crate) fn mark_app_limited(&mut self) {
        self.rate.mark_app_limited();
    }

    /// [`Scoreboard::last_delivery_rate`].
    pub(crate) fn last_delivery_rate(&self) -> Option<(u64, bool)> {
        self.rate.last_rate()
    }
}

impl Scoreboard {
    /// The totals to carry over an idle period, if the scoreboard is at rest: nothing
    /// outstanding, SACKed, lost or retransmitted, no recovery, and no ACK's bookkeeping
    /// under way.
    pub(crate) fn rest(&self) -> Option<ScoreboardRest> {
        let at_rest = self.max_abs == self.una_abs
            && self.segs.is_empty()
            && self.sacked.is_empty()
            && self.tsorted.len() == 0
            && self.lost_queue.is_empty()
            && self.high_rxt == self.una_abs
            && self.lost_scan == self.una_abs
            && self.rescue_rxt.is_none()
            && self.recovery_point.is_none()
            && self.seg_sacked_bytes == 0
            && self.sacked_segs == 0
            && self.lost_bytes == 0
            && self.rtx_bytes == 0
            && self.interval_bytes == 0
            && self.dup_thresh == DUP_THRESH
            && self.lost_at_ack == self.rate.lost()
            && self.delivered_at_ack == self.rate.delivered();
        if !at_rest {
            return None;
        }
        Some(ScoreboardRest {
            una_abs: self.una_abs,
            max_flight: self.max_flight,
            total_retrans: self.total_retrans,
            dsack_dups: self.dsack_dups,
            smss: self.smss,
            max_intervals: u32::try_from(self.max_intervals).ok()?,
            max_segments: u32::try_from(self.max_segments).ok()?,
            reordering: self.reordering,
            reord_seen: self.reord_seen,
            rate: self.rate.rest()?,
        })
    }

    /// The scoreboard again after an idle period (see [`Scoreboard::rest`]), with SND.UNA
    /// at `snd_una`, which has not moved since.
    pub(crate) fn from_rest(r: &ScoreboardRest, snd_una: SeqNum) -> Self {
        debug_assert_eq!(r.una(), snd_una);
        let mut sb = Scoreboard::new(
            snd_una,
            r.smss,
            r.max_intervals as usize,
            r.max_segments as usize,
        );
        sb.una_abs = r.una_abs;
        sb.max_abs = r.una_abs;
        sb.high_rxt = r.una_abs;
        sb.lost_scan = r.una_abs;
        sb.max_flight = r.max_flight;
        sb.total_retrans = r.total_retrans;
        sb.dsack_dups = r.dsack_dups;
        sb.reordering = r.reordering;
        sb.reord_seen = r.reord_seen;
        sb.rate = RateEstimator::from_rest(&r.rate);
        sb.lost_at_ack = sb.rate.lost();
        sb.delivered_at_ack = sb.rate.delivered();
        sb
    }
}
