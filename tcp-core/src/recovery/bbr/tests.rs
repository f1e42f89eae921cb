//! The state machine driven by hand-made rate samples: one sample per round trip, as a
//! path that delivers `rate` bytes per second with a fixed RTT would produce.

use super::*;

const MSS: u32 = 1000;
const RTT: Duration = Duration::from_millis(100);

/// Makes one rate sample per round on a path of fixed RTT.
struct Path {
    now: Instant,
    delivered: u64,
}

impl Path {
    fn new() -> Self {
        Path {
            now: Instant::from_secs(1),
            delivered: 0,
        }
    }

    /// One round trip later: `rate` bytes/s delivered over the round, `in_flight` bytes
    /// left in flight, `lost` bytes lost among `tx_in_flight` bytes.
    fn sample(&mut self, rate: u64, rtt: Duration, in_flight: u32, lost: u32) -> RateSample {
        self.now += rtt;
        let delivered = (u128::from(rate) * rtt.as_micros() / 1_000_000) as u64;
        let prior = self.delivered;
        self.delivered += delivered;
        RateSample {
            delivered,
            interval: rtt,
            delivery_rate: Some(rate),
            is_app_limited: false,
            tx_in_flight: in_flight.max(1),
            lost: u64::from(lost),
            prior_delivered: prior,
            total_delivered: self.delivered,
            now: self.now,
            rtt: Some(rtt),
            newly_acked: clamp32(delivered),
            newly_lost: lost,
            prior_in_flight: in_flight,
            in_flight,
            is_cwnd_limited: true,
            in_recovery: false,
        }
    }

    fn feed(&mut self, b: &mut Bbr, rate: u64, in_flight: u32) {
        let rs = self.sample(rate, RTT, in_flight, 0);
        b.on_rate_sample(&rs, MSS);
    }

    /// Feeds rounds until `b` is in `state` (at most 200).
    fn until(&mut self, b: &mut Bbr, state: BbrState, rate: u64, in_flight: u32) {
        for _ in 0..200 {
            if b.state() == state {
                return;
            }
            self.feed(b, rate, in_flight);
        }
        panic!("never reached {state:?}, in {:?}", b.state());
    }
}

/// 1 MB/s at 100 ms: a BDP of 100 000 bytes.
const RATE: u64 = 1_000_000;
const BDP: u32 = 100_000;

/// Startup ends after three rounds without 25 % growth of the bandwidth estimate
/// (§4.3.1.1), not before; while it grows, it stays.
#[test]
fn startup_exits_after_three_rounds_without_growth() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    // Doubling every round: still growing.
    let mut rate = RATE / 16;
    for _ in 0..5 {
        p.feed(&mut b, rate, BDP);
        assert_eq!(b.state(), BbrState::Startup);
        rate *= 2;
    }
    // 20 % growth counts as none.
    let r0 = rate;
    p.feed(&mut b, r0, BDP * 3);
    assert_eq!(b.state(), BbrState::Startup, "first round of a plateau");
    p.feed(&mut b, r0 * 6 / 5, BDP * 3);
    assert_eq!(
        b.state(),
        BbrState::Startup,
        "one round without 25 % growth"
    );
    p.feed(&mut b, r0 * 6 / 5, BDP * 3);
    assert_eq!(b.state(), BbrState::Startup, "two rounds");
    p.feed(&mut b, r0 * 6 / 5, BDP * 3);
    assert!(b.full_bw_reached());
    assert_eq!(b.state(), BbrState::Drain, "three rounds: the pipe is full");
}

/// Startup paces at 2.77x the estimate less the 1 % margin (§4.6.2); Drain at 0.347x.
#[test]
fn startup_and_drain_pacing_gains() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    p.feed(&mut b, RATE, BDP);
    assert_eq!(b.pacing_rate(), Some(RATE * 2770 * 99 / 100_000));
    for _ in 0..3 {
        p.feed(&mut b, RATE, 3 * BDP);
    }
    assert_eq!(b.state(), BbrState::Drain);
    assert_eq!(b.pacing_rate(), Some(RATE * 347 * 99 / 100_000));
}

fn to_drain(b: &mut Bbr, p: &mut Path) {
    for _ in 0..4 {
        p.feed(b, RATE, 3 * BDP);
    }
    assert_eq!(b.state(), BbrState::Drain);
}

/// Drain lasts while more than the BDP (plus the quantization budget) is in flight, and
/// ends in ProbeBW_DOWN once the flight is down to it (§4.3.2).
#[test]
fn drain_lasts_until_the_flight_is_one_bdp() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_drain(&mut b, &mut p);
    let budget = b.inflight(b.bw(), UNIT);
    assert!(u64::from(BDP) <= budget && budget < u64::from(BDP) * 11 / 10);
    p.feed(&mut b, RATE, 2 * BDP);
    assert_eq!(b.state(), BbrState::Drain);
    p.feed(&mut b, RATE, clamp32(budget) + 1);
    assert_eq!(b.state(), BbrState::Drain);
    p.feed(&mut b, RATE, clamp32(budget));
    // ProbeBW_DOWN, and at once CRUISE: the flight is already at most the BDP.
    assert!(b.state().is_probe_bw(), "{:?}", b.state());
}

fn to_probe_bw(b: &mut Bbr, p: &mut Path) {
    to_drain(b, p);
    p.feed(b, RATE, BDP / 2);
    assert!(b.state().is_probe_bw());
}

/// ProbeBW_DOWN gives way to CRUISE once the flight is at most the BDP; the cycle probes
/// again (REFILL, then UP) within the Reno-coexistence bound or 3 s (§4.3.3).
#[test]
fn probe_bw_cycles_through_its_phases() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    let mut seen = alloc::vec::Vec::new();
    let mut up_rate = None;
    for _ in 0..40 {
        p.feed(&mut b, RATE, BDP);
        if seen.last() != Some(&b.state()) {
            seen.push(b.state());
        }
        if b.state() == BbrState::ProbeBwUp {
            up_rate = b.pacing_rate();
        }
    }
    let pos = |s| seen.iter().position(|&x| x == s);
    let (cruise, refill, up) = (
        pos(BbrState::ProbeBwCruise).unwrap(),
        pos(BbrState::ProbeBwRefill).unwrap(),
        pos(BbrState::ProbeBwUp).unwrap(),
    );
    assert!(cruise < refill && refill < up, "{seen:?}");
    // UP paces at 1.25x.
    assert_eq!(up_rate, Some(RATE * 1250 * 99 / 100_000));
}

/// When the minimum RTT was not seen for 5 s, ProbeRTT brings the window down to half
/// the BDP, holds it 200 ms and a round, then returns to ProbeBW (§4.3.4).
#[test]
fn probe_rtt_comes_when_the_min_rtt_is_five_seconds_old() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    let start = p.now;
    let mut entered = None;
    // RTT samples 20 ms above the minimum: the minimum is never seen again.
    for _ in 0..100 {
        let rs = p.sample(RATE, RTT + Duration::from_millis(20), BDP, 0);
        b.on_rate_sample(&rs, MSS);
        if b.state() == BbrState::ProbeRtt {
            entered = Some(p.now);
            break;
        }
    }
    let entered = entered.expect("ProbeRTT within 100 rounds");
    let after = entered.saturating_duration_since(start);
    assert!(
        after >= Duration::from_secs(4) && after <= Duration::from_millis(5_300),
        "{after:?}"
    );
    assert!(u64::from(b.cwnd()) <= u64::from(BDP) / 2 + 4 * u64::from(MSS));
    assert!(b.wants_app_limited(), "ProbeRTT's samples are app-limited");
    // The flight drains to the ProbeRTT window; 200 ms and a round later it is over.
    let mut t = 0;
    while b.state() == BbrState::ProbeRtt {
        let rs = p.sample(RATE / 2, Duration::from_millis(50), b.cwnd(), 0);
        b.on_rate_sample(&rs, MSS);
        t += 50;
        assert!(t < 1000, "ProbeRTT ends");
    }
    assert!(t >= 200, "held at least 200 ms ({t} ms)");
    assert!(b.state().is_probe_bw());
    assert!(b.cwnd() > BDP, "the window is restored");
}

/// In ProbeBW_UP a round that loses more than 2 % of the flight ends the probe and caps
/// `inflight_hi` at that flight (at least 0.7 of the target), and the window with it
/// (§4.5.10.2).
#[test]
fn loss_while_probing_caps_inflight_hi() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    p.until(&mut b, BbrState::ProbeBwUp, RATE, BDP);
    assert_eq!(b.inflight_hi(), None, "unbounded before any loss");
    // 1 % lost: below the threshold, nothing happens.
    let rs = p.sample(RATE, RTT, 120_000, 1_200);
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.state(), BbrState::ProbeBwUp);
    assert_eq!(b.inflight_hi(), None);
    // 3 % lost of 120 000 bytes in flight.
    let rs = p.sample(RATE, RTT, 120_000, 3_600);
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.inflight_hi(), Some(120_000));
    assert_eq!(b.state(), BbrState::ProbeBwDown);
    assert!(b.cwnd() <= 120_000);
    // Later rounds in CRUISE stay below inflight_hi with 15 % headroom.
    for _ in 0..3 {
        p.feed(&mut b, RATE, BDP / 2);
        if b.state() == BbrState::ProbeBwCruise {
            assert!(b.cwnd() <= 120_000 * 85 / 100);
        }
    }
}

/// A round with loss outside the probing phases cuts `inflight_lo` to 0.7 of the window
/// (or the latest round's delivery, if larger) (§4.5.10.3); REFILL forgets it.
#[test]
fn loss_in_cruise_cuts_the_lower_bounds_by_beta() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    p.until(&mut b, BbrState::ProbeBwCruise, RATE, BDP);
    // A round at half the rate, then one with loss and one more (the loss round ends a
    // round after the loss): at its end `bw_lo` becomes max(latest round's rate,
    // 0.7 max_bw) and `inflight_lo` max(latest round's delivery, 0.7 cwnd).
    p.feed(&mut b, RATE / 2, BDP / 2);
    let cwnd = u64::from(b.cwnd());
    let rs = p.sample(RATE / 2, RTT, BDP / 2, 1_000);
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.inflight_lo(), None);
    p.feed(&mut b, RATE / 2, BDP / 2);
    assert_eq!(b.state(), BbrState::ProbeBwCruise);
    assert_eq!(b.bw(), RATE * 7 / 10);
    let lo = b.inflight_lo().expect("inflight_lo set");
    assert_eq!(lo, (cwnd * 7 / 10).max(RATE / 2 / 10));
    assert!(u64::from(b.cwnd()) <= lo);
    p.until(&mut b, BbrState::ProbeBwRefill, RATE, BDP);
    assert_eq!(b.inflight_lo(), None);
    assert_eq!(b.bw(), b.max_bw());
}

/// Fast recovery leaves the window to the model (draft-ietf-ccwg-bbr-06 §5.6.4.4, as
/// Linux's BBRv3): entering it only saves the window, and the bytes it marks lost are not
/// taken off (draft-01's packet conservation and `cwnd -= newly_lost` are gone; under
/// random loss they kept the window at the shrinking flight, and the lower bounds then
/// started from that). A timeout leaves one segment; the end of recovery restores the
/// saved window.
#[test]
fn fast_recovery_leaves_the_window_to_the_model() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    for _ in 0..3 {
        p.feed(&mut b, RATE, BDP);
    }
    let before = b.cwnd();
    // An ACK in the middle of a round (no round or loss-round end) enters recovery
    // with half the window in flight and three segments newly marked lost.
    let mut rs = p.sample(RATE, RTT, 50_000, 3_000);
    rs.prior_delivered -= 1;
    let mid_round = rs.prior_delivered;
    rs.in_recovery = true;
    rs.newly_acked = 1_000;
    b.on_rate_sample(&rs, MSS);
    assert!(b.cwnd() >= before, "{} < {before}", b.cwnd());
    let mut rs = p.sample(RATE, RTT, 50_000, 3_000);
    rs.prior_delivered = mid_round;
    rs.in_recovery = true;
    rs.newly_acked = 1_000;
    b.on_rate_sample(&rs, MSS);
    assert!(b.cwnd() >= before, "{} < {before}", b.cwnd());
    b.on_rto(p.now, 100_000, MSS);
    assert_eq!(b.cwnd(), MSS);
    let mut rs = p.sample(RATE, RTT, 10_000, 0);
    rs.prior_delivered = mid_round;
    rs.in_recovery = false;
    b.on_rate_sample(&rs, MSS);
    assert!(b.cwnd() >= before, "restored: {} < {before}", b.cwnd());
}

#[test]
fn the_max_bw_filter_forgets_after_two_probe_cycles() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    assert_eq!(b.max_bw(), RATE);
    // The path slows to half: after two ProbeBW cycles the estimate follows.
    let mut cycles = 0;
    let mut last = b.state();
    for _ in 0..400 {
        p.feed(&mut b, RATE / 2, BDP / 2);
        if b.state() == BbrState::ProbeBwRefill && last != BbrState::ProbeBwRefill {
            cycles += 1;
        }
        last = b.state();
        if b.max_bw() == RATE / 2 {
            break;
        }
    }
    assert_eq!(b.max_bw(), RATE / 2);
    assert!((1..=3).contains(&cycles), "{cycles} cycles");
}

/// The first loss of a round starts the loss round over (draft-ietf-ccwg-bbr-06
/// §5.5.10.2 `NoteLoss`, Linux's `bbr_note_loss`): the lower bounds are cut one full
/// round after it, from a full round of delivery signals, not at whatever ACK ends the
/// round already under way.
#[test]
fn the_loss_round_restarts_at_the_first_loss() {
    let mut b = Bbr::new(10, MSS);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    p.until(&mut b, BbrState::ProbeBwCruise, RATE, BDP);
    p.feed(&mut b, RATE, BDP);
    // A loss in the middle of the round that started at `round`.
    let mut rs = p.sample(RATE, RTT, BDP, 2_000);
    rs.prior_delivered -= 1;
    let round = rs.prior_delivered + 1;
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.inflight_lo(), None);
    // The ACK that ends that round: the loss round now ends only with data sent after
    // the loss.
    let mut rs = p.sample(RATE, RTT, BDP, 0);
    rs.prior_delivered = round;
    let after_loss = rs.prior_delivered + 100_000;
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.state(), BbrState::ProbeBwCruise);
    assert_eq!(
        b.inflight_lo(),
        None,
        "cut before a full round after the loss"
    );
    let mut rs = p.sample(RATE, RTT, BDP, 0);
    rs.prior_delivered = after_loss;
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.state(), BbrState::ProbeBwCruise);
    assert!(b.inflight_lo().is_some(), "cut a round after the loss");
}

/// `BBRLossThresh` is the draft's 2 % by default (`Config::bbr_loss_thresh`); a
/// controller configured with 5 % lets a probe that lost 3 % of its flight go on, where
/// the default caps `inflight_hi` (`loss_while_probing_caps_inflight_hi`).
#[test]
fn the_loss_threshold_is_configurable() {
    assert_eq!(crate::config::Config::default().bbr_loss_thresh, 20);
    assert_eq!(Bbr::new(10, MSS).loss_thresh, LOSS_THRESH);
    let mut b = Bbr::new(10, MSS).with_loss_thresh(50);
    let mut p = Path::new();
    to_probe_bw(&mut b, &mut p);
    p.until(&mut b, BbrState::ProbeBwUp, RATE, BDP);
    let rs = p.sample(RATE, RTT, 120_000, 3_600);
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.inflight_hi(), None);
    assert_eq!(b.state(), BbrState::ProbeBwUp);
    // 6 % is too high for it.
    let rs = p.sample(RATE, RTT, 120_000, 7_200);
    b.on_rate_sample(&rs, MSS);
    assert_eq!(b.inflight_hi(), Some(120_000));
    assert_eq!(b.state(), BbrState::ProbeBwDown);
}
