//! A queue that takes one pointer of the control block while it has never held anything
//! or has given its memory back: the connection's queues (send chunks, readable data,
//! write-queue boundaries, segments pushed in the middle of a write) are empty on an idle
//! connection, and a `VecDeque` would cost 32 bytes each there.
//!
//! The queue is allocated by its first push and kept while the connection works (so a
//! request/response exchange does not allocate it again each time); `release` gives the
//! memory back once it is empty, which the endpoint asks for once the connection has had
//! nothing to do for a second (see `Connection::release_idle_memory`).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::ops::RangeFrom;

/// A `VecDeque` allocated on first use, with the subset of its API the connection uses.
// The box is the point: one pointer in the control block while the queue is unused.
#[allow(clippy::box_collection)]
#[derive(Debug)]
pub(crate) struct LazyDeque<T>(Option<Box<VecDeque<T>>>);

impl<T> Default for LazyDeque<T> {
    fn default() -> Self {
        LazyDeque(None)
    }
}

impl<T> LazyDeque<T> {
    #[inline]
    pub(crate) const fn new() -> Self {
        LazyDeque(None)
    }

    /// The queue itself, allocated if it was not.
    #[inline]
    pub(crate) fn queue_or_alloc(&mut self) -> &mut VecDeque<T> {
        self.0.get_or_insert_with(Box::default)
    }

    /// The queue itself, if allocated: for loops that would otherwise check at every
    /// step.
    #[inline]
    pub(crate) fn queue_mut(&mut self) -> Option<&mut VecDeque<T>> {
        self.0.as_deref_mut()
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.0.as_deref().map_or(0, VecDeque::len)
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub(crate) fn back(&self) -> Option<&T> {
        self.0.as_deref()?.back()
    }

    #[inline]
    pub(crate) fn front_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()?.front_mut()
    }

    #[inline]
    pub(crate) fn back_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()?.back_mut()
    }

    #[inline]
    pub(crate) fn push_back(&mut self, v: T) {
        match self.0.as_deref_mut() {
            Some(q) => q.push_back(v),
            None => self.push_first(v),
        }
    }

    /// The first push (or the first after a release) allocates; kept out of line so that
    /// the common path stays small.
    #[cold]
    #[inline(never)]
    fn push_first(&mut self, v: T) {
        let mut q = Box::new(VecDeque::new());
        q.push_back(v);
        self.0 = Some(q);
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        self.0.as_deref_mut()?.pop_front()
    }

    #[inline]
    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        let mut items = items.into_iter().peekable();
        if items.peek().is_some() {
            self.queue_or_alloc().extend(items);
        }
    }

    /// The elements from index `range.start` on.
    #[inline]
    pub(crate) fn range(&self, range: RangeFrom<usize>) -> impl Iterator<Item = &T> {
        self.0
            .as_deref()
            .into_iter()
            .flat_map(move |q| q.range(range.clone()))
    }

    /// Whether the queue is empty but holds memory (`release` would give it back).
    #[inline]
    pub(crate) fn releasable(&self) -> bool {
        self.0.as_deref().is_some_and(VecDeque::is_empty)
    }

    /// Gives the memory back if the queue is empty.
    #[inline]
    pub(crate) fn release(&mut self) {
        if self.is_empty() {
            self.0 = None;
        }
    }

    /// Heap bytes held: the queue's header and its slots, used or not.
    #[inline]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.as_deref().map_or(0, |q| {
            core::mem::size_of::<VecDeque<T>>() + q.capacity() * core::mem::size_of::<T>()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unused_queue_holds_no_memory_and_a_released_one_gives_it_back() {
        let mut q: LazyDeque<u32> = LazyDeque::new();
        assert_eq!(q.heap_bytes(), 0);
        assert_eq!(q.pop_front(), None);
        q.extend(core::iter::empty());
        assert_eq!(q.heap_bytes(), 0, "an empty extend allocates nothing");
        q.push_back(1);
        q.push_back(2);
        q.release();
        assert_eq!(q.len(), 2, "a queue holding data is not released");
        assert_eq!(q.range(1..).copied().collect::<alloc::vec::Vec<_>>(), [2]);
        assert_eq!(q.pop_front(), Some(1));
        assert_eq!(q.pop_front(), Some(2));
        assert!(
            q.heap_bytes() > 0,
            "an emptied queue keeps its memory until released"
        );
        q.release();
        assert_eq!(q.heap_bytes(), 0);
        assert_eq!(core::mem::size_of::<LazyDeque<u32>>(), 8);
    }
}
