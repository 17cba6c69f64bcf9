//! The real server binary as a child process: started as a user would start it, its
//! addresses read from its log, signalled, and killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use chat_tokio_stream::server::Backend;

/// The real binary running as a child process; killed when dropped, so that a failing test
/// never leaves a server behind.
pub struct ChildServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it listens for TLS, if it was asked to.
    pub tls_addr: Option<SocketAddr>,
    /// Where it serves the web, if it was asked to.
    pub http_addr: Option<SocketAddr>,
    /// The SHA-256 fingerprint of its TLS certificate, as it logged it.
    pub fingerprint: Option<String>,
}

/// The real binary as a user would start it, on an ephemeral port with `backend` and
/// `extra_args` (and a store in memory unless they name one, or Redis; no web listener
/// unless they ask for one, since its default port would collide: a backend without the
/// web gets no flag, and so starts as a user would start it), logging at info.
pub fn binary(backend: Backend, extra_args: &[&str]) -> Command {
    binary_on(backend, "127.0.0.1:0", extra_args)
}

/// [`binary`], listening on `addr`.
pub fn binary_on(backend: Backend, addr: &str, extra_args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-tokio-stream"));
    command.args(["--addr", addr]);
    if !extra_args.contains(&"--db") && !extra_args.contains(&"--redis") {
        command.args(["--db", ":memory:"]);
    }
    if backend.serves_web() && !extra_args.contains(&"--http-addr") {
        command.args(["--http-addr", "off"]);
    }
    command.args(extra_args);
    if cfg!(feature = "tokio-impl") {
        command.args(["--backend", backend.name()]);
    }
    command.env("RUST_LOG", "info");
    command
}

impl ChildServer {
    /// The real binary (see [`binary`]), started. Its log is drained on a thread so that it
    /// never blocks on a full pipe.
    pub fn spawn(backend: Backend, extra_args: &[&str]) -> ChildServer {
        ChildServer::run(binary(backend, extra_args))
    }

    /// Starts `command`, a server binary that logs where it listens (this one, or another
    /// build of it to compare with).
    pub fn run(mut command: Command) -> ChildServer {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let (mut tls_addr, mut http_addr, mut fingerprint) = (None, None, None);
        let addr = loop {
            let line = lines
                .next()
                .expect("the binary logs its address")
                .expect("readable stderr");
            let after = |marker: &str| line.split_once(marker).map(|(_, rest)| rest.trim());
            if let Some(addr) = after("listening on ") {
                break addr.parse().expect("a socket address in the log line");
            }
            if let Some(addr) = after("serving TLS on ") {
                tls_addr = Some(addr.parse().expect("a socket address in the TLS line"));
            }
            if let Some(rest) = after("serving the web on ") {
                let addr = rest.split(": ").next().expect("an address first");
                http_addr = Some(addr.parse().expect("a socket address in the web line"));
            }
            if let Some(print) = after("SHA-256 fingerprint ") {
                fingerprint = Some(print.to_string());
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        ChildServer {
            child,
            addr,
            tls_addr,
            http_addr,
            fingerprint,
        }
    }

    /// Runs the binary with `backend` and `extra_args`, expecting it to refuse to start:
    /// returns what it printed.
    pub fn refused(backend: Backend, extra_args: &[&str]) -> String {
        let output = binary(backend, extra_args)
            .stdin(Stdio::null())
            .output()
            .expect("run the binary");
        assert!(!output.status.success(), "the server started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill() on the pid of a child we spawned and have not yet reaped.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// Waits for the server to exit and returns its status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("the binary exits")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
