//! The incoming-decision hook as an async API: refuse (the client sees a reset) and accept.

mod common;

use common::{bounded, on, stack};
use std::io::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn refused_request_resets_the_client() {
    let server = stack();
    let client = stack();
    let listener = server.listen_with_decision(on(&server, 443), 8).unwrap();
    let udp = server.udp_addr().unwrap();
    let connect = tokio::spawn(async move { client.connect_udp(udp, 443).await });
    let inc = bounded("incoming", listener.next_incoming()).await.unwrap();
    assert_eq!(inc.local_addr(), on(&server, 443));
    assert!(inc.syn().mss.is_some());
    inc.refuse().unwrap();
    let err = bounded("connect result", connect)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert!(server.endpoint_stats().resets_sent >= 1);
}

#[tokio::test]
async fn dropped_request_is_refused_too() {
    let server = stack();
    let client = stack();
    let listener = server.listen_with_decision(on(&server, 444), 8).unwrap();
    let udp = server.udp_addr().unwrap();
    let connect = tokio::spawn(async move { client.connect_udp(udp, 444).await });
    drop(bounded("incoming", listener.next_incoming()).await.unwrap());
    let err = bounded("connect result", connect)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[tokio::test]
async fn accepted_request_carries_data() {
    let server = stack();
    let client = stack();
    let listener = server.listen_with_decision(on(&server, 8080), 8).unwrap();
    let udp = server.udp_addr().unwrap();
    let c = tokio::spawn(async move {
        let mut s = client.connect_udp(udp, 8080).await.unwrap();
        s.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        (buf, client)
    });
    let inc = bounded("incoming", listener.next_incoming()).await.unwrap();
    let peer = inc.peer_addr();
    let mut s = bounded("accept", inc.accept()).await.unwrap();
    assert_eq!(s.peer_addr().unwrap(), peer);
    let mut buf = [0u8; 4];
    bounded("read", s.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"ping");
    s.write_all(b"pong").await.unwrap();
    let (got, _client) = bounded("client", c).await.unwrap();
    assert_eq!(&got, b"pong");
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_refused() {
    let server = stack();
    let client = stack();
    let udp = server.udp_addr().unwrap();
    let err = bounded("connect", client.connect_udp(udp, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}
