//! One flow: dial the original destination first (directly or through a SOCKS5 server),
//! then accept or refuse the client, then splice the two connections.

use crate::stats::{Flow, Stats};
use crate::{ProxyConfig, socks5};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tcp_tokio::IncomingConnection;
use tcp_tokio::tcp_core::SockOption;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The first read buffer of each direction; an idle flow holds no more than this.
const FIRST_CHUNK: usize = 4 * 1024;
/// The largest read buffer: a buffer that a read filled doubles, up to this.
const MAX_CHUNK: usize = 64 * 1024;

/// Handles one connection request: a kernel connection to its destination first; if that
/// fails (refused, unreachable, timed out) the client gets a RST, else its handshake
/// completes and the two are spliced until both directions ended.
pub(crate) async fn handle(inc: IncomingConnection, config: Arc<ProxyConfig>, stats: Arc<Stats>) {
    let (src, dst) = (inc.peer_addr(), inc.local_addr());
    let upstream = match tokio::time::timeout(config.connect_timeout, dial(dst, &config)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(%src, %dst, error = %e, "destination failed: refusing");
            stats.refused();
            let _ = inc.refuse();
            return;
        }
        Err(_) => {
            tracing::info!(%src, %dst, "destination timed out: refusing");
            stats.refused();
            let _ = inc.refuse();
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    // No delay, as the destination's socket; ping-pong mode (`TCP_QUICKACK` off): the ACK
    // of the client's request rides on the destination's answer instead of leaving alone.
    let options = [SockOption::NoDelay(true), SockOption::QuickAck(false)];
    let client = match inc.accept_with(&options).await {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(%src, %dst, error = %e, "client handshake failed");
            return;
        }
    };
    let flow = stats.open(src, dst);
    tracing::info!(flow = flow.id, %src, %dst, "flow open");
    let end = splice(client, upstream, &flow, config.idle_timeout).await;
    stats.close(&flow);
    tracing::info!(
        flow = flow.id,
        up_bytes = flow.up.load(Ordering::Relaxed),
        down_bytes = flow.down.load(Ordering::Relaxed),
        secs = flow.started.elapsed().as_secs_f64(),
        end = ?end,
        "flow closed"
    );
}

/// A kernel connection to `dst`, through the SOCKS5 server if one is configured.
async fn dial(dst: SocketAddr, config: &ProxyConfig) -> io::Result<TcpStream> {
    match config.socks5 {
        Some(server) => socks5::connect(server, dst).await,
        None => connect(dst).await,
    }
}

/// A kernel connection to `dst`. A connection to an address of this host completes
/// within `connect(2)` itself (the kernel runs the whole handshake there): it is used at
/// once, where `TcpStream::connect` would first wait for the event loop's next round,
/// and so for every other task woken meanwhile (the client's SYN-ACK waits for it).
async fn connect(dst: SocketAddr) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(dst),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    match socket.connect(&dst.into()) {
        Err(e) if e.raw_os_error() != Some(libc::EINPROGRESS) => return Err(e),
        _ => {}
    }
    let stream = TcpStream::from_std(socket.into())?;
    // Not connected yet (ENOTCONN): wait for the handshake, as `TcpStream::connect` does.
    if stream.peer_addr().is_err() {
        stream.writable().await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        stream.peer_addr()?;
    }
    Ok(stream)
}

/// How a splice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Both directions ended with a FIN.
    Closed,
    /// One side failed (a reset, or a write to a reset connection): both were reset.
    Reset,
    /// No byte moved either way for the idle timeout: both were closed (FIN).
    Idle,
}

/// Copies both ways until both directions ended. An end-of-stream is passed on as a FIN
/// (half-close). A failure on either side (a reset) resets both: the client with a RST
/// from the stack, the destination by closing with `SO_LINGER` 0. A flow with no byte
/// either way for `idle` is closed both ways.
async fn splice(
    client: tcp_tokio::TcpStream,
    upstream: TcpStream,
    flow: &Flow,
    idle: Option<Duration>,
) -> End {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let end = {
        let up = copy(&mut cr, &mut uw, &flow.up);
        let down = copy(&mut ur, &mut cw, &flow.down);
        let idle = idle_watch(flow, idle);
        tokio::pin!(up, down, idle);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            tokio::select! {
                r = &mut up, if !up_done => {
                    up_done = true;
                    if let Err(e) = r {
                        tracing::debug!(flow = flow.id, error = %e, "client to destination failed");
                        break End::Reset;
                    }
                }
                r = &mut down, if !down_done => {
                    down_done = true;
                    if let Err(e) = r {
                        tracing::debug!(flow = flow.id, error = %e, "destination to client failed");
                        break End::Reset;
                    }
                }
                () = &mut idle => break End::Idle,
            }
            if up_done && down_done {
                break End::Closed;
            }
        }
    };
    if end == End::Reset {
        // Closing with SO_LINGER 0 sends a RST instead of a FIN.
        let _ = socket2::SockRef::from(uw.as_ref()).set_linger(Some(Duration::ZERO));
        let _ = cw.abort();
    }
    // Dropping the rest sends the FINs not sent yet.
    end
}

/// Completes once no byte moved either way for `idle`; never without a timeout. Checks
/// four times per timeout, so a flow is closed between 1 and 1.25 timeouts after its
/// last byte.
async fn idle_watch(flow: &Flow, idle: Option<Duration>) {
    let Some(idle) = idle else {
        return std::future::pending().await;
    };
    let moved = || flow.up.load(Ordering::Relaxed) + flow.down.load(Ordering::Relaxed);
    let mut last = moved();
    let mut since = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(idle / 4).await;
        let now = moved();
        if now != last {
            (last, since) = (now, tokio::time::Instant::now());
        } else if since.elapsed() >= idle {
            return;
        }
    }
}

/// Copies `r` to `w` until end-of-stream, then shuts `w` down (FIN). The buffer starts
/// small (an idle flow costs little) and doubles whenever a read fills it.
async fn copy<R, W>(r: &mut R, w: &mut W, counter: &AtomicU64) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; FIRST_CHUNK];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            // The end of a flow is not urgent: what else is ready runs first. A client
            // that closes and connects again sends its FIN and its next SYN together, and
            // the new SYN-ACK then leaves before this FIN is passed on.
            tokio::task::yield_now().await;
            return w.shutdown().await;
        }
        w.write_all(&buf[..n]).await?;
        counter.fetch_add(n as u64, Ordering::Relaxed);
        if n == buf.len() && buf.len() < MAX_CHUNK {
            buf.resize(buf.len() * 2, 0);
        }
    }
}
