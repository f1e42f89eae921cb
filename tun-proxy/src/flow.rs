//! One flow: dial the original destination first, then accept or refuse the client, then
//! splice the two connections.

use crate::stats::{Flow, Stats};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tcp_tokio::IncomingConnection;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes moved per read.
const CHUNK: usize = 64 * 1024;

/// Handles one connection request: a kernel connection to its destination first; if that
/// fails (refused, unreachable, timed out) the client gets a RST, else its handshake
/// completes and the two are spliced until both directions ended.
pub(crate) async fn handle(inc: IncomingConnection, connect_timeout: Duration, stats: Arc<Stats>) {
    let (src, dst) = (inc.peer_addr(), inc.local_addr());
    let upstream =
        match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(dst)).await {
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
    let client = match inc.accept().await {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(%src, %dst, error = %e, "client handshake failed");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let flow = stats.open(src, dst);
    tracing::info!(flow = flow.id, %src, %dst, "flow open");
    splice(client, upstream, &flow).await;
    stats.close(&flow);
    tracing::info!(
        flow = flow.id,
        up_bytes = flow.up.load(Ordering::Relaxed),
        down_bytes = flow.down.load(Ordering::Relaxed),
        secs = flow.started.elapsed().as_secs_f64(),
        "flow closed"
    );
}

/// Copies both ways until both directions ended. An end-of-stream is passed on as a FIN
/// (half-close); a failure of the destination's side (a reset) resets the client.
async fn splice(client: tcp_tokio::TcpStream, upstream: tokio::net::TcpStream, flow: &Flow) {
    let (mut cr, cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let up = async {
        let r = copy(&mut cr, &mut uw, &flow.up).await;
        if let Err(e) = &r {
            tracing::debug!(flow = flow.id, error = %e, "client side ended");
        }
        drop(uw); // FIN to the destination, if not sent yet
    };
    let down = async {
        let mut cw = cw;
        match copy(&mut ur, &mut cw, &flow.down).await {
            Ok(()) => drop(cw),
            Err(e) => {
                tracing::debug!(flow = flow.id, error = %e, "destination side failed: resetting the client");
                let _ = cw.abort();
            }
        }
    };
    tokio::join!(up, down);
}

/// Copies `r` to `w` until end-of-stream, then shuts `w` down (FIN).
async fn copy<R, W>(r: &mut R, w: &mut W, counter: &AtomicU64) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return w.shutdown().await;
        }
        w.write_all(&buf[..n]).await?;
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}
