//! A multi-queue TUN device with one worker (its own endpoint and loop) per queue: the
//! port-based steering keeps every flow on one worker for its whole life, through idle
//! periods longer than the kernel's flow table remembers (3 s), for flows the kernel opens
//! and for flows the workers open on their own queue.

mod common;

use common::{Echo, Flow, KernelFlow};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;
use tcp_tun::netns::{self, TunNet};
use tcp_tun::{TunStack, steering};

common::tests!(flows_stay_on_their_worker_across_idle_periods);

const WORKERS: usize = 2;

fn flows_stay_on_their_worker_across_idle_periods() {
    let layout = TunNet {
        kernel_v6: None,
        ..TunNet::default()
    };
    netns::unshare_net().expect("namespace");
    let links = layout.create_queues(WORKERS).expect("multi-queue device");
    assert_eq!(links.len(), WORKERS);
    let kernel_listener = TcpListener::bind(common::kernel_addr(&layout, false, 5001)).unwrap();
    let ours = common::our_addr(&layout, false, 7);
    let kaddr = common::kernel_addr(&layout, false, 5001);
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    // The kernel accepts the workers' connections and exchanges 2 MB each way on each.
    let kernel_server = thread::spawn(move || {
        (0..WORKERS)
            .map(|_| {
                let (s, _) = kernel_listener.accept()?;
                Ok(thread::spawn(move || common::kernel_flow(s, 5, 2 << 20)))
            })
            .collect::<std::io::Result<Vec<_>>>()
    });
    let workers: Vec<_> = links
        .into_iter()
        .enumerate()
        .map(|(k, link)| {
            let (stop, served) = (stop.clone(), served.clone());
            thread::spawn(move || {
                let config = link.config();
                let stack = TunStack::with_config(link, config).expect("stack");
                let listener = stack.net().listen_on(ours, 64).expect("listen");
                let stream = stack.connect_on_queue(kaddr, k, WORKERS).expect("connect");
                let mut flow = Flow::new(stream, 6 + k as u64, 2 << 20);
                let mut flow_done = false;
                let mut echoes: Vec<Echo> = Vec::new();
                let mut mine = 0;
                common::pump(stack.net(), common::LIMIT, "worker", || {
                    while let Ok((s, peer)) = listener.accept() {
                        // The steering program and `queue_of` agree.
                        assert_eq!(steering::queue_of(peer.port(), 7, WORKERS), k, "{peer}");
                        echoes.push(Echo::new(s));
                        mine += 1;
                        served.fetch_add(1, Ordering::SeqCst);
                    }
                    for e in &mut echoes {
                        e.step().expect("echo");
                    }
                    if !flow_done {
                        flow_done = flow.step().expect("our flow");
                    }
                    stop.load(Ordering::SeqCst) && flow_done
                });
                assert_eq!(flow.rx.len(), 2 << 20, "worker {k} received its flow");
                eprintln!(
                    "worker {k}: served {mine} kernel clients; {:?}",
                    stack.stats()
                );
                (mine, flow.rx.finish())
            })
        })
        .collect();
    // Eight kernel clients; each sends 1 MB, pauses longer than the kernel's flow table
    // remembers a flow, then sends 1 MB more; everything must come back.
    let clients: Vec<_> = (0..8u64)
        .map(|i| {
            thread::spawn(move || -> std::io::Result<(u64, u64, u64)> {
                use std::io::{Read, Write};
                let mut s = common::kernel_connect(ours)?;
                s.set_read_timeout(Some(common::LIMIT))?;
                let a = common::pattern(100 + i, 1 << 20);
                let b = common::pattern(200 + i, 1 << 20);
                let mut r = s.try_clone()?;
                let reader = thread::spawn(move || {
                    let mut got = Vec::new();
                    r.read_to_end(&mut got).map(|_| got)
                });
                s.write_all(&a)?;
                thread::sleep(Duration::from_millis(3500));
                s.write_all(&b)?;
                s.shutdown(std::net::Shutdown::Write)?;
                let got = reader.join().expect("reader")?;
                let want: Vec<u8> = a.iter().chain(&b).copied().collect();
                assert!(
                    got == want,
                    "client {i}: {} of {} bytes echoed",
                    got.len(),
                    want.len()
                );
                Ok((i, got.len() as u64, 0))
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client").expect("client io");
    }
    let kernel_flows: Vec<KernelFlow> = kernel_server
        .join()
        .expect("kernel server")
        .expect("accepts")
        .into_iter()
        .map(|t| t.join().expect("kernel flow").expect("kernel flow io"))
        .collect();
    stop.store(true, Ordering::SeqCst);
    let results: Vec<(usize, u64)> = workers
        .into_iter()
        .map(|w| w.join().expect("worker"))
        .collect();
    assert_eq!(
        results.iter().map(|r| r.0).sum::<usize>(),
        8,
        "every client served once"
    );
    assert_eq!(served.load(Ordering::SeqCst), 8);
    for k in &kernel_flows {
        assert_eq!(
            k.recv_len,
            2 << 20,
            "the kernel received each worker's flow"
        );
        assert!(
            results.iter().any(|r| r.1 == k.sent_hash),
            "a worker got the kernel's bytes"
        );
    }
}
