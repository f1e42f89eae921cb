//! Interop with `tcp-mio` over UDP on loopback, both ways: the two adapters frame segments
//! in datagrams the same way, so each one's client reaches the other's listener and every
//! byte comes back.

mod common;

use common::{LIMIT, bounded, on, pattern, stack};
use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc;
use std::time::Duration;
use tcp_mio::{Net, TcpStream as MioStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LEN: usize = 4 << 20;

/// Moves bytes between a tcp-mio stream and `pending` until nothing more moves (`eof` is
/// set at end-of-stream); returns how many bytes were written back.
fn echo_step(s: &mut MioStream, pending: &mut Vec<u8>, eof: &mut bool) -> std::io::Result<usize> {
    let mut buf = [0u8; 65536];
    while !*eof {
        match s.read(&mut buf) {
            Ok(0) => *eof = true,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    let mut written = 0;
    while !pending.is_empty() {
        match s.write(pending) {
            Ok(n) => {
                pending.drain(..n);
                written += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// A tcp-mio echo server on its own thread: sends its UDP address, echoes one connection
/// until the client's FIN, then closes and waits for the close to finish.
fn mio_echo_server(
    port: u16,
    addr_tx: mpsc::Sender<std::net::SocketAddr>,
) -> std::io::Result<usize> {
    let net = Net::udp("127.0.0.1:0".parse().unwrap(), Default::default())?;
    let listener = net.listen(port, 16)?;
    addr_tx.send(net.udp_addr().unwrap()).unwrap();
    let mut stream = None;
    net.run_until(LIMIT, || {
        if stream.is_none() {
            match listener.accept() {
                Ok((s, _)) => stream = Some(s),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(stream.is_some())
    })?;
    let mut s = stream.unwrap();
    let (mut pending, mut eof, mut echoed) = (Vec::new(), false, 0usize);
    net.run_until(LIMIT, || {
        echoed += echo_step(&mut s, &mut pending, &mut eof)?;
        Ok(eof && pending.is_empty())
    })?;
    s.shutdown()?;
    // Until our FIN is acknowledged (LAST_ACK -> CLOSED).
    net.run_until(LIMIT, || {
        Ok(s.state()? == tcp_tokio::tcp_core::State::Closed)
    })?;
    Ok(echoed)
}

#[tokio::test]
async fn tokio_client_to_mio_server() {
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || mio_echo_server(7, tx));
    let udp = rx.recv_timeout(LIMIT).unwrap();
    let client = stack();
    let s = bounded("connect", client.connect_udp(udp, 7))
        .await
        .unwrap();
    assert_eq!(
        s.peer_addr().unwrap(),
        std::net::SocketAddr::new(udp.ip(), 7)
    );
    let (mut r, mut w) = s.into_split();
    let data = pattern(42, LEN);
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&sent).await.unwrap();
        w.shutdown().await.unwrap();
        w
    });
    let mut got = Vec::with_capacity(LEN);
    bounded("echo", r.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got == data, "echoed bytes differ");
    let _w = writer.await.unwrap();
    let echoed = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, LEN);
}

#[tokio::test]
async fn mio_client_to_tokio_server() {
    let server = stack();
    let listener = server.listen(on(&server, 9000), 16).unwrap();
    let udp = server.udp_addr().unwrap();
    let data = pattern(7, LEN);
    let sent = data.clone();
    let client = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
        let net = Net::udp("127.0.0.1:0".parse().unwrap(), Default::default())?;
        let mut s = net.connect(udp, 9000)?;
        let (mut off, mut shut, mut got, mut eof) = (0, false, Vec::new(), false);
        net.run_until(LIMIT, || {
            while off < sent.len() {
                match s.write(&sent[off..]) {
                    Ok(n) => off += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if off == sent.len() && !shut {
                s.shutdown()?;
                shut = true;
            }
            let mut buf = [0u8; 65536];
            while !eof {
                match s.read(&mut buf) {
                    Ok(0) => eof = true,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(eof)
        })?;
        // Let our last ACK of the server's FIN leave.
        let _ = net.poll(Some(Duration::from_millis(10)));
        Ok(got)
    });
    let (s, _) = bounded("accept", listener.accept()).await.unwrap();
    let (mut r, mut w) = s.into_split();
    bounded("echo", tokio::io::copy(&mut r, &mut w))
        .await
        .unwrap();
    w.shutdown().await.unwrap();
    let got = tokio::task::spawn_blocking(move || client.join().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got == data, "bytes differ");
    drop((r, w));
}
