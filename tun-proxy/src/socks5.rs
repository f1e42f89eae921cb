//! A minimal SOCKS5 client (RFC 1928): no authentication, `CONNECT` to an IPv4 or IPv6
//! address. `--socks5` dials every destination through it.

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The protocol version byte.
const VERSION: u8 = 5;
/// The "no authentication required" method.
const NO_AUTH: u8 = 0;
/// The `CONNECT` command.
const CONNECT: u8 = 1;
const ATYP_V4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_V6: u8 = 4;

/// Connects to `dst` through the SOCKS5 server at `server`: after this the stream carries
/// the destination's bytes. A refusal by the server comes back as an error whose kind
/// matches the server's reply (`ConnectionRefused` for "connection refused", ...).
pub async fn connect(server: SocketAddr, dst: SocketAddr) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(server).await?;
    s.set_nodelay(true)?;
    handshake(&mut s, dst).await?;
    Ok(s)
}

/// The greeting and the `CONNECT` request on an open connection to the server.
async fn handshake(s: &mut TcpStream, dst: SocketAddr) -> io::Result<()> {
    s.write_all(&[VERSION, 1, NO_AUTH]).await?;
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await?;
    if choice[0] != VERSION {
        return Err(bad("the server does not speak SOCKS5"));
    }
    if choice[1] != NO_AUTH {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the SOCKS5 server wants authentication",
        ));
    }
    s.write_all(&request(dst)).await?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    if head[0] != VERSION {
        return Err(bad("bad SOCKS5 reply version"));
    }
    if head[1] != 0 {
        return Err(reply_error(head[1]));
    }
    // The bound address and port, which a transparent proxy has no use for.
    let len = match head[3] {
        ATYP_V4 => 4 + 2,
        ATYP_V6 => 16 + 2,
        ATYP_DOMAIN => usize::from(s.read_u8().await?) + 2,
        _ => return Err(bad("bad SOCKS5 address type in the reply")),
    };
    let mut bound = [0u8; 257];
    s.read_exact(&mut bound[..len]).await?;
    Ok(())
}

/// The `CONNECT` request for `dst`.
fn request(dst: SocketAddr) -> Vec<u8> {
    let mut req = vec![VERSION, CONNECT, 0];
    match dst {
        SocketAddr::V4(a) => {
            req.push(ATYP_V4);
            req.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            req.push(ATYP_V6);
            req.extend_from_slice(&a.ip().octets());
        }
    }
    req.extend_from_slice(&dst.port().to_be_bytes());
    req
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The error for a failure reply (RFC 1928 section 6).
fn reply_error(code: u8) -> io::Error {
    use io::ErrorKind::*;
    let (kind, what) = match code {
        1 => (Other, "general SOCKS server failure"),
        2 => (PermissionDenied, "connection not allowed by ruleset"),
        3 => (NetworkUnreachable, "network unreachable"),
        4 => (HostUnreachable, "host unreachable"),
        5 => (ConnectionRefused, "connection refused"),
        6 => (TimedOut, "TTL expired"),
        7 => (Unsupported, "command not supported"),
        8 => (Unsupported, "address type not supported"),
        _ => (Other, "unknown SOCKS5 reply"),
    };
    io::Error::new(kind, format!("SOCKS5 server: {what} ({code})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let v4 = request("198.51.100.5:8080".parse().unwrap());
        assert_eq!(v4, [5, 1, 0, 1, 198, 51, 100, 5, 0x1f, 0x90]);
        let v6 = request("[2001:db8::5]:80".parse().unwrap());
        assert_eq!(v6.len(), 4 + 16 + 2);
        assert_eq!(v6[3], ATYP_V6);
        assert_eq!(&v6[20..], &[0, 80]);
    }

    #[test]
    fn reply_codes() {
        assert_eq!(reply_error(5).kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(reply_error(4).kind(), io::ErrorKind::HostUnreachable);
        assert_eq!(reply_error(99).kind(), io::ErrorKind::Other);
    }
}
