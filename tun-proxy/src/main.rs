//! `tun-proxy`: terminates every TCP flow arriving on a TUN device and splices it to a
//! kernel TCP connection to its original destination. See the crate's README.

use clap::Parser;
use std::sync::Arc;
use std::time::Duration;
use tcp_tokio::tcp_tun::netns;
use tun_proxy::{ProxyConfig, Stats};

/// Transparent TCP proxy on a TUN device (TCP only; UDP and other protocols are ignored).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The TUN device to create (or attach to).
    #[arg(long, default_value = "tun0")]
    tun: String,
    /// The device's MTU (sets the MSS of the terminated connections).
    #[arg(long, default_value_t = 1500)]
    mtu: u32,
    /// Move the device into this network namespace (`ip netns add NAME` first) and set
    /// it up there, so the clients live there and the proxy's own connections leave
    /// through this namespace's routes.
    #[arg(long)]
    netns: Option<String>,
    /// An address with prefix for the device's side of the clients' namespace (e.g.
    /// 192.0.2.1/24), given with `ip addr add`.
    #[arg(long)]
    addr: Option<String>,
    /// Routes into the device (e.g. `default` or 198.51.100.0/24), each with
    /// `ip route add ROUTE dev TUN`.
    #[arg(long)]
    route: Vec<String>,
    /// Log per-flow and total throughput every SECS seconds (1 without a value).
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "1")]
    stats: Option<f64>,
    /// Seconds to wait for a destination before refusing the client.
    #[arg(long, default_value_t = 5.0)]
    connect_timeout: f64,
    /// Close a flow (FIN both ways) after SECS seconds without a byte either way.
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<f64>,
    /// Dial every destination through this SOCKS5 server (no authentication, CONNECT
    /// with the destination's IPv4 or IPv6 address) instead of directly.
    #[arg(long, value_name = "HOST:PORT")]
    socks5: Option<String>,
    /// Connection requests waiting per destination port.
    #[arg(long, default_value_t = 128)]
    backlog: usize,
    /// Threads of the runtime: 1 runs everything on one thread (the fastest for
    /// connection setup); more gives a multi-threaded runtime with that many workers.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Open the device without the virtio-net header: no checksum or segmentation
    /// offloads (by default the kernel's super-segments of up to 64 KiB go both ways).
    #[arg(long)]
    no_offloads: bool,
}

/// The device, with the virtio-net offloads unless told otherwise or the kernel refuses
/// them (then plainly, with a warning).
fn open_device(args: &Args) -> std::io::Result<tcp_tokio::TunDevice> {
    if !args.no_offloads {
        match tcp_tokio::tcp_tun::vnet::VnetTun::open(&args.tun) {
            Ok(dev) => {
                tracing::info!(offloads = ?dev.offloads(), "device opened with the virtio-net header");
                return Ok(dev.into());
            }
            Err(e) => {
                tracing::warn!(error = %e, "no virtio-net offloads: opening the device plainly")
            }
        }
    }
    Ok(netns::open_tun(&args.tun)?.into())
}

/// Runs `ip` in the device's namespace (`ip -n NS ...`) or in ours.
fn ip(ns: Option<&str>, args: &[&str]) -> std::io::Result<()> {
    let mut all: Vec<&str> = Vec::new();
    if let Some(ns) = ns {
        all.extend(["-n", ns]);
    }
    all.extend_from_slice(args);
    netns::ip(&all)
}

fn setup_device(args: &Args, name: &str) -> std::io::Result<()> {
    if let Some(ns) = &args.netns {
        netns::ip(&["link", "set", "dev", name, "netns", ns])?;
    }
    let ns = args.netns.as_deref();
    let mtu = args.mtu.to_string();
    ip(ns, &["link", "set", "dev", name, "mtu", &mtu, "up"])?;
    if let Some(addr) = &args.addr {
        ip(ns, &["addr", "add", addr, "dev", name])?;
    }
    for route in &args.route {
        ip(ns, &["route", "add", route, "dev", name])?;
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    match tun_proxy::runtime(args.threads).and_then(|rt| rt.block_on(serve(args))) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tun-proxy failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let socks5 = match &args.socks5 {
        Some(server) => Some(resolve(server).await?),
        None => None,
    };
    let device = open_device(&args)?;
    let name = match &device {
        tcp_tokio::TunDevice::Plain(i) => i.name().to_string(),
        tcp_tokio::TunDevice::Vnet(v) => v.name().to_string(),
    };
    setup_device(&args, &name)?;
    let config = tcp_tokio::tcp_tun::config_for_mtu(args.mtu, true);
    let stack = tcp_tokio::Stack::bind_tun_transparent(device, &[], config)?;
    let proxy = ProxyConfig {
        backlog: args.backlog,
        connect_timeout: Duration::from_secs_f64(args.connect_timeout.max(0.001)),
        stats_interval: args.stats.map(|s| Duration::from_secs_f64(s.max(0.01))),
        idle_timeout: args
            .idle_timeout
            .map(|s| Duration::from_secs_f64(s.max(0.001))),
        socks5,
    };
    tracing::info!(device = %name, netns = ?args.netns, socks5 = ?proxy.socks5, "proxying every TCP flow on the device");
    let stats = Arc::new(Stats::default());
    let shutdown = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handler: run until killed.
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C: shutting down");
    };
    let totals = tun_proxy::run(&stack, &proxy, stats, shutdown).await?;
    // Let the FINs of the closed flows leave before the stack goes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tracing::info!(
        flows = totals.flows,
        refused = totals.refused,
        up_bytes = totals.bytes_up,
        down_bytes = totals.bytes_down,
        "done"
    );
    Ok(())
}

/// The first address of `HOST:PORT` (resolved once, at start).
async fn resolve(server: &str) -> std::io::Result<std::net::SocketAddr> {
    tokio::net::lookup_host(server)
        .await?
        .next()
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("--socks5 {server}: no address"),
            )
        })
}
