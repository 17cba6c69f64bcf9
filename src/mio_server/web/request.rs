//! An HTTP request as the web listener reads it: the head is collected (bounded) until
//! `httparse` finds it complete, then turned into the route it asks for. Sans-IO: bytes in,
//! a [`Parsed`] out. One request per connection, so a body (a GET has none) is never read.

use tungstenite::handshake::derive_accept_key;

/// The largest request head taken: a browser's is well under 2 KiB; past this, 431.
pub const MAX_HEAD: usize = 8 * 1024;
/// Headers taken at most; more is a head too large (431), as `httparse` cannot tell.
const MAX_HEADERS: usize = 64;

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: the chat page.
    Page,
    /// `GET /ws` with a valid upgrade: a WebSocket; the `Sec-WebSocket-Accept` value.
    WebSocket {
        /// The `Sec-WebSocket-Accept` answer to the client's key.
        accept: String,
    },
    /// `GET /metrics`.
    Metrics,
    /// `GET /healthz`.
    Health,
    /// Anything else.
    NotFound,
}

/// What a request head became, once complete (or hopeless).
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A complete request for `route`; `rest` is what the client sent after the head
    /// (already the first WebSocket frames, for a hurried client).
    Complete {
        /// What it asks for.
        route: Route,
        /// Bytes after the head.
        rest: Vec<u8>,
    },
    /// Not HTTP, or a WebSocket upgrade that is not one: 400, with why.
    Malformed(&'static str),
    /// Headers over [`MAX_HEAD`] or [`MAX_HEADERS`]: 431.
    TooLarge,
}

/// A request head being collected.
#[derive(Debug, Default)]
pub struct RequestHead {
    bytes: Vec<u8>,
}

impl RequestHead {
    /// Takes bytes read from the client and says whether the head is complete yet.
    pub fn push(&mut self, bytes: &[u8]) -> Parsed {
        let room = (MAX_HEAD + 1).saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&self.bytes) {
            Ok(httparse::Status::Partial) if self.bytes.len() > MAX_HEAD => Parsed::TooLarge,
            Ok(httparse::Status::Partial) => Parsed::Partial,
            Ok(httparse::Status::Complete(len)) if len > MAX_HEAD => Parsed::TooLarge,
            Ok(httparse::Status::Complete(len)) => {
                let route = match route(&request) {
                    Ok(route) => route,
                    Err(why) => return Parsed::Malformed(why),
                };
                let mut rest = self.bytes[len..].to_vec();
                // What did not fit in the head's bound belongs after it.
                rest.extend_from_slice(&bytes[bytes.len().min(room)..]);
                Parsed::Complete { route, rest }
            }
            Err(httparse::Error::TooManyHeaders) => Parsed::TooLarge,
            Err(_) => Parsed::Malformed("not an HTTP/1.x request"),
        }
    }
}

/// The route a complete request asks for, or why it is malformed.
fn route(request: &httparse::Request<'_, '_>) -> Result<Route, &'static str> {
    let path = request.path.unwrap_or("/");
    let path = path.split_once('?').map_or(path, |(path, _query)| path);
    if request.method != Some("GET") {
        return Ok(Route::NotFound);
    }
    Ok(match path {
        "/" => Route::Page,
        "/ws" => upgrade(request)?,
        "/metrics" => Route::Metrics,
        "/healthz" => Route::Health,
        _ => Route::NotFound,
    })
}

/// A WebSocket opening handshake (RFC 6455, 4.2.1), checked, and its answer key.
fn upgrade(request: &httparse::Request<'_, '_>) -> Result<Route, &'static str> {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .and_then(|header| std::str::from_utf8(header.value).ok())
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|value| {
            value
                .split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    };
    if request.version != Some(1) {
        return Err("a WebSocket needs HTTP/1.1");
    }
    if !has_token("Upgrade", "websocket") || !has_token("Connection", "upgrade") {
        return Err("/ws is a WebSocket: expected Upgrade: websocket");
    }
    if header("Sec-WebSocket-Version").map(str::trim) != Some("13") {
        return Err("expected Sec-WebSocket-Version: 13");
    }
    let key = header("Sec-WebSocket-Key")
        .map(str::trim)
        .filter(|key| key.len() == 24)
        .ok_or("expected a Sec-WebSocket-Key of 16 bytes in base64")?;
    Ok(Route::WebSocket {
        accept: derive_accept_key(key.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed {
        RequestHead::default().push(text.as_bytes())
    }

    fn route_of(text: &str) -> Route {
        match parse(text) {
            Parsed::Complete { route, .. } => route,
            other => panic!("not complete: {other:?}"),
        }
    }

    const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    #[test]
    fn each_path_has_its_route_and_anything_else_is_not_found() {
        assert_eq!(route_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Route::Page);
        assert_eq!(
            route_of("GET /?from=bookmark HTTP/1.0\r\n\r\n"),
            Route::Page
        );
        assert_eq!(route_of("GET /metrics HTTP/1.1\r\n\r\n"), Route::Metrics);
        assert_eq!(route_of("GET /healthz HTTP/1.1\r\n\r\n"), Route::Health);
        assert_eq!(
            route_of("GET /etc/passwd HTTP/1.1\r\n\r\n"),
            Route::NotFound
        );
        assert_eq!(route_of("POST / HTTP/1.1\r\n\r\n"), Route::NotFound);
    }

    #[test]
    fn the_upgrade_answers_the_rfc_example_key() {
        assert_eq!(
            route_of(UPGRADE),
            Route::WebSocket {
                accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()
            }
        );
    }

    #[test]
    fn a_bad_upgrade_is_malformed() {
        assert!(matches!(
            parse("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"),
            Parsed::Malformed(_)
        ));
        let old = UPGRADE.replace("Version: 13", "Version: 8");
        assert!(matches!(parse(&old), Parsed::Malformed(_)));
        let keyless = UPGRADE.replace("Sec-WebSocket-Key", "X-Key");
        assert!(matches!(parse(&keyless), Parsed::Malformed(_)));
    }

    #[test]
    fn a_head_arrives_in_pieces_and_what_follows_it_is_kept() {
        let mut head = RequestHead::default();
        let (first, second) = UPGRADE.split_at(30);
        assert_eq!(head.push(first.as_bytes()), Parsed::Partial);
        let mut rest = second.as_bytes().to_vec();
        rest.extend_from_slice(&[0x81, 0x80]);
        match head.push(&rest) {
            Parsed::Complete { rest, .. } => assert_eq!(rest, [0x81, 0x80]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_malformed_and_huge_heads_are_too_large() {
        assert!(matches!(
            parse("\x16\x03\x01hello\r\n\r\n"),
            Parsed::Malformed(_)
        ));
        let mut head = RequestHead::default();
        assert_eq!(head.push(b"GET / HTTP/1.1\r\n"), Parsed::Partial);
        let header = format!("X-Big: {}\r\n", "a".repeat(1000));
        let mut parsed = Parsed::Partial;
        for _ in 0..9 {
            parsed = head.push(header.as_bytes());
        }
        assert_eq!(parsed, Parsed::TooLarge);
        assert!(head.bytes.len() <= MAX_HEAD + 1, "bounded");
        let many: String = (0..100).map(|n| format!("X-{n}: y\r\n")).collect();
        assert_eq!(
            parse(&format!("GET / HTTP/1.1\r\n{many}\r\n")),
            Parsed::TooLarge
        );
    }
}
