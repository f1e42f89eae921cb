//! Packets in flight, delivered in order of arrival time (ties in order of sending): the
//! one queue behind [`super::World`] and [`super::duplex::Duplex`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tcp_core::time::Instant;

/// Items (packets with their receiver) waiting for their arrival time.
#[derive(Debug)]
pub struct DeliveryQueue<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    order: u64,
}

#[derive(Debug)]
struct Entry<T> {
    at: Instant,
    order: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.order) == (o.at, o.order)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(o.at, o.order))
    }
}

impl<T> Default for DeliveryQueue<T> {
    fn default() -> Self {
        DeliveryQueue {
            heap: BinaryHeap::new(),
            order: 0,
        }
    }
}

impl<T> DeliveryQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `item` to arrive at `at`, after anything queued earlier for the same instant.
    pub fn push(&mut self, at: Instant, item: T) {
        self.order += 1;
        self.heap.push(Reverse(Entry {
            at,
            order: self.order,
            item,
        }));
    }

    /// The earliest arrival time, if anything is in flight.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// The next item due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.next_arrival()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(e)| e.item)
    }

    /// Items in flight.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Nothing in flight.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_by_time_then_in_sending_order() {
        let mut q = DeliveryQueue::new();
        let t = |ms| Instant::from_millis(ms);
        q.push(t(20), "late");
        q.push(t(10), "first");
        q.push(t(10), "second");
        assert_eq!(q.next_arrival(), Some(t(10)));
        assert_eq!(q.pop_due(t(5)), None);
        assert_eq!(q.pop_due(t(10)), Some("first"));
        assert_eq!(q.pop_due(t(10)), Some("second"));
        assert_eq!(q.pop_due(t(10)), None);
        assert_eq!(q.pop_due(t(30)), Some("late"));
        assert!(q.is_empty());
    }
}
