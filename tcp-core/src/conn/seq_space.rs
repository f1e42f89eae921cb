//! The two sequence spaces of a synchronized connection: the send and receive sequence
//! variables of RFC 9293 §3.3.1 (Figures 3 and 4), with what Linux keeps beside them.
//!
//! `SND.UP` and `RCV.UP` are absent: urgent data is not supported. `RCV.WND` is the
//! receive window's own state (`rwnd`), which also decides how it grows.

use crate::seq::SeqNum;

/// The send sequence variables (RFC 9293 §3.3.1, Figure 3):
///
/// ```text
///      1         2          3          4
/// ----------|----------|----------|----------
///        SND.UNA    SND.NXT    SND.UNA
///                             +SND.WND
/// ```
/// 1: acknowledged; 2: sent, not yet acknowledged; 3: allowed for new data; 4: not yet
/// allowed.
#[derive(Clone, Copy, Debug)]
pub(super) struct SendSeq {
    /// ISS: our initial send sequence number.
    pub(super) iss: SeqNum,
    /// SND.UNA: the oldest unacknowledged sequence number.
    pub(super) una: SeqNum,
    /// SND.NXT: the next sequence number to send (it rewinds to SND.UNA on an RTO).
    pub(super) nxt: SeqNum,
    /// The highest sequence number sent plus one, which an RTO does not rewind (RFC
    /// 6675's HighData + 1; what Linux calls `snd_nxt`, as Linux never rewinds it).
    pub(super) max: SeqNum,
    /// SND.WND: the peer's window, scaled (RFC 7323 §2.3).
    pub(super) wnd: u32,
    /// SND.WL1: the segment sequence number of the last window update.
    pub(super) wl1: SeqNum,
    /// SND.WL2: the acknowledgment number of the last window update.
    pub(super) wl2: SeqNum,
    /// The largest window the peer has offered (Linux's `max_window`; RFC 9293
    /// §3.8.6.2.1's sender SWS avoidance compares with it).
    pub(super) max_wnd: u32,
    /// The end of the last sub-MSS segment sent (Minshall's Nagle variant, as Linux's
    /// `snd_sml`).
    pub(super) sml: SeqNum,
}

impl SendSeq {
    /// Before anything is sent: every variable at the ISS, no window yet.
    pub(super) fn new(iss: SeqNum) -> Self {
        SendSeq {
            iss,
            una: iss,
            nxt: iss,
            max: iss,
            wnd: 0,
            wl1: SeqNum::new(0),
            wl2: iss,
            max_wnd: 0,
            sml: iss,
        }
    }
}

/// The receive sequence variables (RFC 9293 §3.3.1, Figure 4), but `RCV.WND` (see the
/// module docs):
///
/// ```text
///     1          2          3
/// ----------|----------|----------
///        RCV.NXT    RCV.NXT
///                  +RCV.WND
/// ```
/// 1: received and acknowledged; 2: allowed to arrive; 3: not yet allowed.
#[derive(Clone, Copy, Debug)]
pub(super) struct RecvSeq {
    /// IRS: the peer's initial sequence number (zero until its SYN arrives).
    pub(super) irs: SeqNum,
    /// RCV.NXT: the next sequence number expected.
    pub(super) nxt: SeqNum,
}

impl RecvSeq {
    /// Before the peer's SYN.
    pub(super) fn new() -> Self {
        RecvSeq {
            irs: SeqNum::new(0),
            nxt: SeqNum::new(0),
        }
    }

    /// The peer's SYN carried sequence number `seq`: IRS = SEG.SEQ and RCV.NXT =
    /// SEG.SEQ + 1, as the SYN occupies one sequence number (RFC 9293 §3.10.7.2 and
    /// §3.10.7.3).
    pub(super) fn from_syn(seq: SeqNum) -> Self {
        RecvSeq {
            irs: seq,
            nxt: seq + 1,
        }
    }
}
