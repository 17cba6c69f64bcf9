//! One simulated chat client of the load generator: its socket, its registration, and what
//! it reads.
//!
//! Nicknames start with the swarm's tag letter, so that several swarms can share a server:
//! senders are `Ts0`, `Ts1`, ... (T the tag) and say lines of the form `SEQ STAMP [padding]`,
//! where STAMP is nanoseconds since the swarm's epoch (the send time, or for a fixed-rate run
//! the time the line was *scheduled*). Receivers (`Tr0`, ...) read `TsK: SEQ STAMP` lines,
//! check the sequence per sender (a gap is a loss, a repeat a duplicate) and record the
//! latency; lines of other swarms are ignored.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hdrhistogram::Histogram;
use rustls::ClientConfig;

use super::transport::Transport;
use super::Dialect;

/// What a simulated client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Says numbered lines; reads (and ignores) what others say so that it is never a slow
    /// consumer.
    Sender(usize),
    /// Reads and checks every sender's lines.
    Receiver,
}

/// Where a client is in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// TCP connect in progress.
    Connecting,
    /// Nickname sent, waiting for the welcome.
    Registering,
    /// Skipping this many replayed history lines after the welcome.
    SkippingHistory(usize),
    /// Chatting.
    Ready,
}

/// Counts one receiver keeps about what it read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Chat lines from senders received in sequence.
    pub delivered: u64,
    /// Lines missing from a sender's sequence.
    pub lost: u64,
    /// Lines received twice (or out of order).
    pub duplicated: u64,
}

/// How a client gets in and says a line, by what the server speaks.
impl Dialect {
    /// What a client sends once connected: its nickname for a chat server; for Redis, a
    /// receiver subscribes to the room's channel and a sender pings.
    fn greeting(self, role: Role, nick: &str) -> String {
        match (self, role) {
            (Dialect::Chat, _) => format!("{nick}\n"),
            (Dialect::Redis, Role::Receiver) => format!("SUBSCRIBE {REDIS_CHANNEL}\r\n"),
            (Dialect::Redis, Role::Sender(_)) => "PING\r\n".into(),
        }
    }

    /// True if `line` is the server's answer to the greeting: the chat welcome, Redis's
    /// confirmation of the subscription (the "subscribe" element of its reply) or its PONG.
    fn is_welcome(self, line: &[u8]) -> bool {
        match self {
            Dialect::Chat => line.starts_with(b"*** Welcome, "),
            Dialect::Redis => line == b"subscribe" || line == b"+PONG",
        }
    }
}

/// The channel Redis clients use as the room.
const REDIS_CHANNEL: &str = "#lobby";

/// One simulated client.
pub struct Peer {
    /// The connection (its socket registered with the worker's poll under the peer's index).
    pub transport: Transport,
    /// What the server speaks.
    dialect: Dialect,
    /// Sender or receiver.
    pub role: Role,
    stage: Stage,
    /// The swarm's tag letter, which starts every nickname of the swarm.
    tag: u8,
    nick: String,
    /// The unfinished tail of the last read.
    partial: Vec<u8>,
    /// Bytes the socket would not take yet.
    unsent: Vec<u8>,
    /// Receivers: each sender's sequence, checked.
    pub sequences: Sequences,
    /// The first `!!! ` line the server sent this client, if any: the load is not what it
    /// claims to be (flood control, most likely), so the run must stop and say so.
    pub refused: Option<String>,
}

/// The per-sender sequence check of one receiver: a gap is a loss, a repeat a duplicate.
#[derive(Debug, Default)]
pub struct Sequences {
    /// The next sequence number expected from each sender.
    next: Vec<u64>,
    /// What was counted.
    pub tally: Tally,
}

impl Sequences {
    /// A check of lines from `senders` senders.
    fn new(senders: usize) -> Self {
        Sequences {
            next: vec![0; senders],
            tally: Tally::default(),
        }
    }

    /// Notes line `seq` from `sender`; true if it is new (a delivery).
    fn note(&mut self, sender: usize, seq: u64) -> bool {
        let Some(next) = self.next.get_mut(sender) else {
            return false;
        };
        if seq < *next {
            self.tally.duplicated += 1;
            return false;
        }
        self.tally.lost += seq - *next;
        *next = seq + 1;
        self.tally.delivered += 1;
        true
    }

    /// At the end of a run: counts what never arrived, given how many lines each sender said.
    pub fn count_missing(&mut self, sent: &[u64]) {
        for (next, &sent) in self.next.iter_mut().zip(sent) {
            if sent > *next {
                self.tally.lost += sent - *next;
                *next = sent;
            }
        }
    }

    /// True if every line the senders said (`sent`) has arrived.
    pub fn has_all(&self, sent: &[u64]) -> bool {
        self.next.iter().zip(sent).all(|(next, sent)| next >= sent)
    }
}

impl Peer {
    /// Starts a non-blocking connect to `server` from `source` (any port), through TLS with
    /// `tls` if given (or as a WebSocket, if `websocket`), to a server speaking `dialect`. `nick` starts with the swarm's tag
    /// letter; a receiver expects lines from `senders` senders.
    pub fn connect(
        server: SocketAddr,
        source: Option<SocketAddr>,
        (tls, websocket, dialect): (Option<&Arc<ClientConfig>>, bool, Dialect),
        role: Role,
        nick: String,
        senders: usize,
    ) -> io::Result<Peer> {
        let transport = Transport::connect(server, source, tls, websocket)?;
        let sequences = Sequences::new(if role == Role::Receiver { senders } else { 0 });
        Ok(Peer {
            transport,
            dialect,
            role,
            stage: Stage::Connecting,
            tag: nick.as_bytes().first().copied().unwrap_or(b'x'),
            nick,
            partial: Vec::new(),
            unsent: Vec::new(),
            refused: None,
            sequences,
        })
    }

    /// True once the welcome (and any history replay) has been read.
    pub fn is_ready(&self) -> bool {
        self.stage == Stage::Ready
    }

    /// True while bytes wait for the socket.
    pub fn has_unsent(&self) -> bool {
        !self.unsent.is_empty() || self.transport.has_records()
    }

    /// The socket became writable: finish connecting (greet the server), or flush.
    pub fn on_writable(&mut self) -> io::Result<()> {
        if self.stage == Stage::Connecting {
            let socket = self.transport.socket();
            if let Some(e) = socket.take_error()? {
                return Err(e);
            }
            if socket.peer_addr().is_err() {
                return Ok(()); // Not connected yet: a spurious event.
            }
            self.stage = Stage::Registering;
            let greeting = self.dialect.greeting(self.role, &self.nick);
            return self.send(greeting.as_bytes());
        }
        self.flush()
    }

    /// Says line `seq` stamped `stamp`, padded with `padding`: as a chat line, or for Redis
    /// as a PUBLISH of what a chat server would have relayed (`nick: seq stamp padding`).
    pub fn say(&mut self, seq: u64, stamp: u64, padding: &str) -> io::Result<()> {
        let line = match self.dialect {
            Dialect::Chat => format!("{seq} {stamp} {padding}\n"),
            Dialect::Redis => {
                let message = format!("{}: {seq} {stamp} {padding}", self.nick);
                format!(
                    "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{REDIS_CHANNEL}\r\n${}\r\n{message}\r\n",
                    REDIS_CHANNEL.len(),
                    message.len()
                )
            }
        };
        self.send(line.as_bytes())
    }

    /// Sends `bytes`, keeping what the socket does not take for later.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.unsent.is_empty() {
            self.unsent.extend_from_slice(bytes);
            return self.flush();
        }
        let written = write_some(&mut self.transport, bytes)?;
        self.unsent.extend_from_slice(&bytes[written..]);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.transport.flush()?;
        let written = write_some(&mut self.transport, &self.unsent)?;
        self.unsent.drain(..written);
        if self.unsent.is_empty() {
            self.unsent = Vec::new();
        }
        Ok(())
    }

    /// Reads everything available (using `buf` as scratch), acting on each complete line.
    /// `now_ns` stamps the receipt; latencies go into `latency`, and each delivery from
    /// sender K is counted in `delivered[K]` (the senders' windows read it). Returns false at
    /// end of stream.
    pub fn on_readable(
        &mut self,
        buf: &mut [u8],
        now_ns: impl Fn() -> u64,
        latency: &mut Histogram<u64>,
        delivered: &[AtomicU64],
    ) -> io::Result<bool> {
        loop {
            let n = match self.transport.read(buf) {
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let now = now_ns();
            let mut rest = &buf[..n];
            while let Some(end) = memchr::memchr(b'\n', rest) {
                let sender = if self.partial.is_empty() {
                    self.on_line(&rest[..end], now, latency)
                } else {
                    self.partial.extend_from_slice(&rest[..end]);
                    let line = std::mem::take(&mut self.partial);
                    self.on_line(&line, now, latency)
                };
                if let Some(counter) = sender.and_then(|sender| delivered.get(sender)) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                rest = &rest[end + 1..];
            }
            self.partial.extend_from_slice(rest);
        }
    }

    /// Acts on one line; returns the sender whose line this receiver just got, if any.
    fn on_line(&mut self, line: &[u8], now: u64, latency: &mut Histogram<u64>) -> Option<usize> {
        // Redis ends its lines with CRLF; a chat server never sends a CR.
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"!!! ") && self.refused.is_none() {
            self.refused = Some(String::from_utf8_lossy(line).into_owned());
        }
        let mut delivery = None;
        match self.stage {
            Stage::Ready => {
                if self.role == Role::Receiver {
                    delivery = self.on_chat(line, now, latency);
                }
            }
            Stage::Registering if self.dialect.is_welcome(line) => self.stage = Stage::Ready,
            Stage::Registering | Stage::Connecting => {}
            Stage::SkippingHistory(left) => {
                self.stage = if left <= 1 {
                    Stage::Ready
                } else {
                    Stage::SkippingHistory(left - 1)
                };
            }
        }
        if self.stage == Stage::Ready {
            if let Some(count) = history_header(line) {
                self.stage = Stage::SkippingHistory(count);
            }
        }
        delivery
    }

    /// A line `TsK: SEQ STAMP...` from this swarm's sender K (returned when it is new);
    /// anything else is ignored.
    fn on_chat(&mut self, line: &[u8], now: u64, latency: &mut Histogram<u64>) -> Option<usize> {
        let rest = line.strip_prefix(&[self.tag, b's'])?;
        let colon = memchr::memchr(b':', rest)?;
        let mut fields = rest[colon + 1..]
            .split(|&b| b == b' ')
            .filter(|f| !f.is_empty());
        let sender = usize::try_from(parse(&rest[..colon])?).ok()?;
        let (seq, stamp) = (
            fields.next().and_then(parse)?,
            fields.next().and_then(parse)?,
        );
        if !self.sequences.note(sender, seq) {
            return None;
        }
        latency.saturating_record(now.saturating_sub(stamp));
        Some(sender)
    }
}

/// The count in a `*** Last N message(s) in #room:` history header.
fn history_header(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(b"*** Last ")?;
    let space = memchr::memchr(b' ', rest)?;
    parse(&rest[..space]).map(|n| n as usize)
}

/// A decimal number, or None.
fn parse(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// Writes as much of `bytes` as the connection takes now.
fn write_some(stream: &mut Transport, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_losses_repeats_are_duplicates_and_silence_is_counted_at_the_end() {
        let mut check = Sequences::new(2);
        assert!(check.note(0, 0));
        assert!(check.note(0, 1));
        assert!(check.note(0, 4), "two lines skipped");
        assert!(!check.note(0, 2), "an old line again");
        assert!(!check.note(7, 0), "an unknown sender");
        assert!(check.note(1, 0));
        assert!(!check.has_all(&[5, 3]));
        check.count_missing(&[5, 3]);
        assert!(check.has_all(&[5, 3]));
        assert_eq!(
            (
                check.tally.delivered,
                check.tally.lost,
                check.tally.duplicated
            ),
            (4, 2 + 2, 1)
        );
    }

    #[test]
    fn numbers_and_history_headers_parse() {
        assert_eq!(parse(b"1234"), Some(1234));
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"12a"), None);
        assert_eq!(history_header(b"*** Last 20 messages in #lobby:"), Some(20));
        assert_eq!(history_header(b"*** Last 1 message in #x:"), Some(1));
        assert_eq!(history_header(b"*** bob joined #lobby"), None);
    }
}
