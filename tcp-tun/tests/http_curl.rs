//! The HTTP example's server, fetched by `curl` (the kernel's TCP) inside the namespace.

mod common;

#[path = "../examples/common/mod.rs"]
mod example;

use std::process::Command;
use tcp_tun::netns::TunNet;

common::tests!(needs: ["curl"]; curl_fetches_from_the_http_example);

fn curl_fetches_from_the_http_example() {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    let listeners = example::our_addrs(&layout, 80).map(|a| stack.net().listen_on(a, 16).unwrap());
    let fetch = std::thread::spawn(|| {
        let run = |args: &[&str]| {
            let out = Command::new("curl").args(args).output().expect("curl");
            assert!(
                out.status.success(),
                "curl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        (
            run(&["-sS", "--max-time", "20", "http://192.0.2.2/"]),
            run(&["-sS", "--max-time", "20", "http://[2001:db8::2]/"]),
            run(&[
                "-sS",
                "--max-time",
                "60",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{size_download}",
                "http://192.0.2.2/bytes/20000000",
            ]),
            run(&[
                "-sS",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://192.0.2.2/nothing",
            ]),
        )
    });
    let mut new = Vec::new();
    let mut conns: Vec<example::HttpConn> = Vec::new();
    common::pump(stack.net(), common::LIMIT, "curl", || {
        example::accept_all(&listeners, &mut new);
        conns.extend(new.drain(..).map(|(s, p)| example::HttpConn::new(s, p)));
        conns.retain_mut(|c| !c.step().expect("http"));
        fetch.is_finished()
    });
    let (v4, v6, big, missing) = fetch.join().expect("curl thread");
    assert!(
        v4.starts_with("Hello from tcp-core") && v4.contains("192.0.2.1:"),
        "{v4}"
    );
    assert!(v6.contains("[2001:db8::1]:"), "{v6}");
    assert_eq!(big, "200 20000000");
    assert_eq!(missing, "404");
}
