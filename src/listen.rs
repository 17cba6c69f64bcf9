//! Opening a listening socket, the same way for every listener of both servers.

use std::io;
use std::net::{SocketAddr, TcpListener};

/// Connections the kernel may hold waiting to be accepted: enough that a crowd arriving at
/// once is not turned away (the standard library uses 128).
const LISTEN_BACKLOG: i32 = 1024;

/// A non-blocking listener on `addr`, which the flag `flag` chose. The error names the
/// address, and says what to do when the port is taken.
pub fn listen(addr: SocketAddr, flag: &str) -> io::Result<TcpListener> {
    bind(addr).map_err(|e| {
        let hint = match e.kind() {
            io::ErrorKind::AddrInUse => {
                format!("; is another server running there? Choose another address with {flag}")
            }
            io::ErrorKind::AddrNotAvailable => "; this machine has no such address".into(),
            io::ErrorKind::PermissionDenied => "; ports below 1024 need privileges".into(),
            _ => String::new(),
        };
        io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}{hint}"))
    })
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_named_with_a_hint() {
        let taken = listen("127.0.0.1:0".parse().unwrap(), "--addr").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = listen(addr, "--tls-addr").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        let message = error.to_string();
        assert!(message.contains(&addr.to_string()), "{message}");
        assert!(message.contains("--tls-addr"), "{message}");
    }
}
