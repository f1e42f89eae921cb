//! Giving idle memory back (`Connection::release_idle_memory`) changes nothing a peer or
//! the application can see. With nothing in flight the SACK sender's state rests as a
//! summary; these tests drive a connection that rests next to a twin that never does,
//! through the flights that follow (new data, a loss and its recovery, a timeout), and
//! compare every segment, deadline and `TCP_INFO`. The `connection` fuzz target checks
//! the same at random points.

use tcp_core::{Config, Duration, MemoryPart};
use tcp_tests::lone::{Lone, Out, PeerOpts};

/// A connection that gives its idle memory back, and its twin that keeps it.
struct Twins {
    rests: Lone,
    keeps: Lone,
}

impl Twins {
    fn new() -> Twins {
        let peer = PeerOpts {
            ts: Some(100),
            ..PeerOpts::default()
        };
        Twins {
            rests: Lone::established_with(Config::default(), peer),
            keeps: Lone::established_with(Config::default(), peer),
        }
    }

    /// Runs `f` on both; they must send the same segments and then agree on their next
    /// deadline and on `TCP_INFO`.
    fn step(&mut self, what: &str, f: impl Fn(&mut Lone) -> Vec<Out>) -> Vec<Out> {
        let a = f(&mut self.rests);
        let b = f(&mut self.keeps);
        let segs = |v: &[Out]| v.iter().map(|o| o.seg.clone()).collect::<Vec<_>>();
        assert_eq!(segs(&a), segs(&b), "{what}: the segments differ");
        assert_eq!(
            self.rests.c.poll_timeout(),
            self.keeps.c.poll_timeout(),
            "{what}: the deadlines differ"
        );
        let now = self.rests.now;
        assert_eq!(
            self.rests.c.tcp_info(now),
            self.keeps.c.tcp_info(now),
            "{what}: TCP_INFO differs"
        );
        a
    }

    /// Two idle seconds (the endpoint releases after one), then the first connection
    /// gives its idle memory back; returns whether its SACK state now rests.
    fn idle_and_release(&mut self) -> bool {
        self.step("idle", |l| l.advance(Duration::from_secs(2)));
        self.rests.c.release_idle_memory();
        heap_parts(&self.rests)
            .iter()
            .any(|p| p.name == "heap: SACK loss recovery, at rest")
    }
}

fn heap_parts(l: &Lone) -> Vec<MemoryPart> {
    let mut parts = Vec::new();
    l.c.memory_parts(&mut parts);
    parts
}

fn loss_heap(l: &Lone) -> usize {
    heap_parts(l)
        .iter()
        .filter(|p| p.name.starts_with("heap: SACK loss recovery"))
        .map(|p| p.bytes)
        .sum()
}

/// One request and its acknowledgment: afterwards nothing is in flight.
fn exchange(t: &mut Twins, next: &mut u32, bytes: u32) {
    let end = *next + bytes;
    t.step("write", |l| l.write(bytes as usize));
    t.step("ack", |l| {
        l.set_time(l.now + Duration::from_millis(40));
        l.ack(1, end)
    });
    *next = end;
}

#[test]
fn a_resting_sack_sender_is_smaller_and_sends_as_before() {
    let mut t = Twins::new();
    let mut next = 1;
    exchange(&mut t, &mut next, 3000);
    assert!(
        t.idle_and_release(),
        "nothing in flight: the SACK state rests"
    );
    assert!(
        loss_heap(&t.rests) * 3 < loss_heap(&t.keeps),
        "resting: {} bytes, kept: {}",
        loss_heap(&t.rests),
        loss_heap(&t.keeps)
    );
    // The next flights go as the twin's: data, then more data.
    exchange(&mut t, &mut next, 5000);
    exchange(&mut t, &mut next, 100);
    assert_eq!(loss_heap(&t.rests), loss_heap(&t.keeps), "awake again");
}

#[test]
fn a_loss_after_resting_is_recovered_as_without_resting() {
    let mut t = Twins::new();
    let mut next = 1;
    exchange(&mut t, &mut next, 2000);
    assert!(t.idle_and_release());
    // A few segments; the first is lost and the peer SACKs the others.
    let sent = t.step("write", |l| l.write(5 * 1460));
    assert!(sent.len() >= 5, "{} segments", sent.len());
    let first_end = next + sent[0].len() as u32;
    let end = next + 5 * 1460;
    t.step("sack", |l| {
        l.set_time(l.now + Duration::from_millis(40));
        l.sack(1, next, &[(first_end, end)])
    });
    t.step("reordering window", |l| {
        l.advance(Duration::from_millis(100))
    });
    t.step("ack all", |l| l.ack(1, end));
    next = end;
    // Rest again after the recovery, if the state allows it, and go on.
    t.idle_and_release();
    exchange(&mut t, &mut next, 3000);
    let info = t.rests.c.tcp_info(t.rests.now);
    assert!(
        info.total_retrans >= 1,
        "the loss was repaired by a retransmission"
    );
}

#[test]
fn a_timeout_after_resting_is_handled_as_without_resting() {
    let mut t = Twins::new();
    let mut next = 1;
    exchange(&mut t, &mut next, 1000);
    assert!(t.idle_and_release());
    t.step("write", |l| l.write(3 * 1460));
    // No answer: probes and timeouts until the peer acknowledges everything.
    t.step("silence", |l| l.advance(Duration::from_secs(3)));
    let end = next + 3 * 1460;
    let info = t.rests.c.tcp_info(t.rests.now);
    assert!(
        info.total_retrans >= 1,
        "the silence was met with retransmissions"
    );
    t.step("ack all", |l| l.ack(1, end));
    next = end;
    t.idle_and_release();
    exchange(&mut t, &mut next, 2000);
}
