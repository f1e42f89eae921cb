//! The application events a connection has not yet handed out, in order, each kind at
//! most once (the promise of [`Event`]): six kinds fit in one word, so the queue takes
//! no heap and 16 bytes.

use crate::error::ConnError;
use crate::event::Event;

/// Pending events, oldest first.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct EventQueue {
    /// Event kinds, four bits each, the oldest in the lowest bits.
    kinds: u32,
    len: u8,
    /// The error of the queued [`Event::Error`].
    error: Option<ConnError>,
}

const CONNECTED: u32 = 1;
const READABLE: u32 = 2;
const WRITABLE: u32 = 3;
const PEER_CLOSED: u32 = 4;
const ERROR: u32 = 5;
const CLOSED: u32 = 6;

fn kind(ev: Event) -> u32 {
    match ev {
        Event::Connected => CONNECTED,
        Event::Readable => READABLE,
        Event::Writable => WRITABLE,
        Event::PeerClosed => PEER_CLOSED,
        Event::Error(_) => ERROR,
        Event::Closed => CLOSED,
    }
}

impl EventQueue {
    /// Whether an event of `ev`'s kind waits.
    pub(super) fn contains_kind(&self, ev: Event) -> bool {
        let k = kind(ev);
        (0..u32::from(self.len)).any(|i| (self.kinds >> (4 * i)) & 0xf == k)
    }

    /// Queues `ev` unless one of its kind waits already (a connection fails once: a
    /// second error while the first is unread is not reported).
    pub(super) fn push(&mut self, ev: Event) {
        if self.contains_kind(ev) {
            return;
        }
        if let Event::Error(e) = ev {
            self.error = Some(e);
        }
        self.kinds |= kind(ev) << (4 * u32::from(self.len));
        self.len += 1;
    }

    /// No event waits.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The oldest event.
    pub(super) fn pop(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let k = self.kinds & 0xf;
        self.kinds >>= 4;
        self.len -= 1;
        Some(match k {
            CONNECTED => Event::Connected,
            READABLE => Event::Readable,
            WRITABLE => Event::Writable,
            PEER_CLOSED => Event::PeerClosed,
            ERROR => Event::Error(self.error.take().unwrap_or(ConnError::Aborted)),
            _ => Event::Closed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_order_once_per_kind() {
        let mut q = EventQueue::default();
        q.push(Event::Connected);
        q.push(Event::Readable);
        q.push(Event::Readable);
        q.push(Event::Error(ConnError::Reset));
        q.push(Event::Error(ConnError::TimedOut));
        q.push(Event::Writable);
        q.push(Event::PeerClosed);
        q.push(Event::Closed);
        assert_eq!(q.len, 6);
        let got: alloc::vec::Vec<Event> = core::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            got,
            [
                Event::Connected,
                Event::Readable,
                Event::Error(ConnError::Reset),
                Event::Writable,
                Event::PeerClosed,
                Event::Closed
            ]
        );
        q.push(Event::Readable);
        assert_eq!(
            q.pop(),
            Some(Event::Readable),
            "a kind can come again once polled"
        );
        assert_eq!(q.pop(), None);
    }
}
