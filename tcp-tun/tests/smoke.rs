//! The smallest interop check: the kernel connects to our listener and we echo a line.

mod common;

use std::io::{Read, Write};
use std::time::Duration;
use tcp_tun::netns::TunNet;

#[test]
fn kernel_client_says_hello() {
    let layout = TunNet::default();
    let Some(stack) = common::setup(&layout) else {
        return;
    };
    let listener = stack
        .net()
        .listen_on(common::our_addr(&layout, false, 7), 16)
        .unwrap();
    let target = common::our_addr(&layout, false, 7);
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(10))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"hello")?;
        s.shutdown(std::net::Shutdown::Write)?;
        let mut got = Vec::new();
        s.read_to_end(&mut got)?;
        std::io::Result::Ok(got)
    });
    let mut echo = None;
    common::pump(stack.net(), common::LIMIT, "echo", || {
        if echo.is_none() {
            echo = listener.accept().ok().map(|(s, _)| common::Echo::new(s));
        }
        if let Some(e) = echo.as_mut() {
            e.step().unwrap();
        }
        client.is_finished()
    });
    let got = client.join().unwrap().unwrap();
    assert_eq!(got, b"hello");
    eprintln!("{:?}", stack.stats());
}
