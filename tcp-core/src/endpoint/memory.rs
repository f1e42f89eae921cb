//! Where an endpoint's memory goes: its tables, and each connection's parts summed
//! (`tcp-bench memory` divides them by the number of connections).

use super::{ConnEntry, Endpoint, HalfOpen, PendingIncoming, Slot, SlotKind, TimeWaitRec};
use crate::conn::Connection;
use crate::conn::memory::{MemoryPart, add_part, deque_bytes};
use alloc::vec::Vec;
use core::mem::size_of;

impl Endpoint {
    /// The memory the endpoint holds, by part: its tables (`endpoint: …`), the records of
    /// half-open and TIME_WAIT entries, and every connection's parts summed (see
    /// [`Connection::memory_parts`]). Data buffered for the application is not counted;
    /// B-tree node overhead is not either.
    pub fn memory_parts(&self) -> Vec<MemoryPart> {
        let mut parts = Vec::new();
        add_part(
            &mut parts,
            "endpoint: slots",
            self.slots.capacity() * size_of::<Slot>(),
        );
        add_part(
            &mut parts,
            "endpoint: free slot list",
            self.free.capacity() * 4,
        );
        add_part(&mut parts, "endpoint: demux table", self.table.heap_bytes());
        add_part(
            &mut parts,
            "endpoint: timer heap",
            self.timers.capacity() * size_of::<core::cmp::Reverse<(crate::Instant, u32, u32)>>(),
        );
        add_part(
            &mut parts,
            "endpoint: transmit queue",
            deque_bytes(&self.dirty),
        );
        for slot in &self.slots {
            match &slot.kind {
                SlotKind::Free => {}
                SlotKind::Conn(e) => {
                    add_part(
                        &mut parts,
                        "endpoint: connection entry (beyond the connection)",
                        size_of::<ConnEntry>() - size_of::<Connection>(),
                    );
                    e.conn.memory_parts(&mut parts);
                }
                SlotKind::HalfOpen(_) => {
                    add_part(&mut parts, "half-open record", size_of::<HalfOpen>())
                }
                SlotKind::Incoming(_) => add_part(
                    &mut parts,
                    "incoming-decision record",
                    size_of::<PendingIncoming>(),
                ),
                SlotKind::TimeWait(_) => {
                    add_part(&mut parts, "TIME_WAIT record", size_of::<TimeWaitRec>())
                }
            }
        }
        parts
    }
}
