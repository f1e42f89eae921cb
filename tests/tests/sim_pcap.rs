//! The simulator's pcap output opens in tshark and shows the handshake and the FIN exchange.

use std::path::PathBuf;
use std::process::Command;

use tcp_core::time::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::LinkConfig;

/// One packet as tshark decodes it.
#[derive(Debug)]
struct Row {
    src: String,
    syn: bool,
    ack: bool,
    fin: bool,
    seq: u64,
    ackno: u64,
    len: u64,
    checksum_good: bool,
}

fn flag(s: &str) -> bool {
    matches!(s, "1" | "True" | "true")
}

fn tshark_rows(file: &PathBuf) -> Vec<Row> {
    let out = match Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-T",
            "fields",
            "-E",
            "separator=,",
        ])
        .args(["-e", "ip.src", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack"])
        .args(["-e", "tcp.flags.fin", "-e", "tcp.seq", "-e", "tcp.ack"])
        .args(["-e", "tcp.len", "-e", "tcp.checksum.status"])
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run tshark ({e}): it is needed to check pcap output; run scripts/setup \
             (it installs tshark), then rerun the tests"
        ),
    };
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert!(f.len() >= 8, "unexpected tshark line {l:?}");
            Row {
                src: f[0].to_string(),
                syn: flag(f[1]),
                ack: flag(f[2]),
                fin: flag(f[3]),
                seq: f[4].parse().unwrap_or(u64::MAX),
                ackno: f[5].parse().unwrap_or(u64::MAX),
                len: f[6].parse().unwrap_or(u64::MAX),
                checksum_good: f[7] == "1" || f[7] == "Good",
            }
        })
        .collect()
}

#[test]
fn tshark_reads_the_handshake_and_fin_exchange_from_a_smoltcp_transfer() {
    let file = std::env::temp_dir().join(format!("tcp_tests_sim_pcap_{}.pcap", std::process::id()));
    let bytes = 50_000u64;
    let mut run = BulkRun::new(
        Stack::Smoltcp,
        BulkSetup::new(
            bytes,
            LinkConfig::new(Duration::from_millis(5), Some(10_000_000)),
        ),
    )
    .expect("setup");
    let f = std::fs::File::create(&file).expect("create pcap");
    run.world
        .enable_pcap(Box::new(std::io::BufWriter::new(f)), run.sender)
        .expect("pcap header");
    let outcome = run.run(Duration::from_secs(120), 1_000_000);
    assert_eq!(outcome, RunOutcome::Done);
    run.world.finish_pcap().expect("pcap written");

    let rows = tshark_rows(&file);
    let _ = std::fs::remove_file(&file);
    let client = "10.0.0.1";
    let server = "10.0.0.2";
    assert!(rows.len() > 10, "too few packets: {rows:?}");
    assert!(
        rows.iter().all(|r| r.checksum_good),
        "bad checksum in {rows:?}"
    );

    // Three-way handshake.
    let (syn, synack, ack) = (&rows[0], &rows[1], &rows[2]);
    assert!(syn.src == client && syn.syn && !syn.ack, "{syn:?}");
    assert!(
        synack.src == server && synack.syn && synack.ack && synack.ackno == 1,
        "{synack:?}"
    );
    assert!(
        ack.src == client && !ack.syn && ack.ack && ack.ackno == 1,
        "{ack:?}"
    );

    // Every byte was carried.
    let payload: u64 = rows.iter().filter(|r| r.src == client).map(|r| r.len).sum();
    assert!(payload >= bytes);

    // FIN exchange: the client's FIN after all data, the server's FIN, the last ACK.
    let client_fin = rows
        .iter()
        .position(|r| r.src == client && r.fin)
        .expect("client FIN");
    assert_eq!(rows[client_fin].seq + rows[client_fin].len, bytes + 1);
    let server_fin = rows
        .iter()
        .position(|r| r.src == server && r.fin)
        .expect("server FIN");
    assert!(
        rows[server_fin].ack && rows[server_fin].ackno == bytes + 2,
        "{:?}",
        rows[server_fin]
    );
    let last = rows.last().expect("rows");
    assert!(
        last.src == client && last.ack && !last.fin && last.ackno == rows[server_fin].seq + 1,
        "{last:?}"
    );
}
