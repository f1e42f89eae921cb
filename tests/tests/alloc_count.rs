//! `alloc_count` installed as the global allocator counts live bytes and calls.

use tcp_tests::alloc_count::{CountingAlloc, allocated, allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One test only: the counts are process-wide, and a second test thread would move them.
#[test]
fn live_bytes_and_calls_follow_allocations_reallocations_and_frees() {
    let (bytes0, calls0) = (allocated(), allocations());
    let mut v: Vec<u8> = Vec::with_capacity(1000);
    v.push(1);
    let mut v = std::hint::black_box(v);
    assert_eq!(allocated() - bytes0, 1000);
    assert_eq!(allocations() - calls0, 1);
    v.reserve_exact(3000);
    assert!(v.capacity() >= 3001);
    assert_eq!(allocated() - bytes0, v.capacity() as isize);
    assert_eq!(allocations() - calls0, 2, "a reallocation is a call");
    v.truncate(1);
    v.shrink_to_fit();
    assert_eq!(allocated() - bytes0, 1, "shrinking frees the rest");
    let zeroed = std::hint::black_box(vec![0u64; 16]);
    assert_eq!(allocated() - bytes0, 1 + 128);
    drop(zeroed);
    drop(v);
    assert_eq!(allocated(), bytes0);
    assert_eq!(allocations() - calls0, 4);
}
