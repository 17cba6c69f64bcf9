//! The web listener's answers, as bytes for the outbox: whole HTTP/1.1 responses (each
//! closes its connection: one request per connection) and the WebSocket upgrade.

use crate::protocol::Line;

/// The chat page, compiled into the binary.
const PAGE: &str = include_str!("page.html");

/// What a page from this server may do: run its own inline script and style, talk to its
/// own server, and nothing else (no resource from elsewhere, no framing by other sites).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// An HTTP status the web listener answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 200.
    Ok,
    /// 400: not a request this server understands.
    BadRequest,
    /// 404: no such route.
    NotFound,
    /// 431: the head is over 8 KiB.
    HeadersTooLarge,
}

impl Status {
    fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::BadRequest => "400 Bad Request",
            Status::NotFound => "404 Not Found",
            Status::HeadersTooLarge => "431 Request Header Fields Too Large",
        }
    }
}

/// A complete response that closes the connection.
pub fn response(status: Status, content_type: &str, body: &[u8]) -> Line {
    with_headers(status, content_type, &[], body)
}

/// A plain-text response: the reason for an error, or "ok".
pub fn text(status: Status, body: &str) -> Line {
    response(
        status,
        "text/plain; charset=utf-8",
        format!("{body}\n").as_bytes(),
    )
}

/// The chat page, once per server; every request for it shares the one buffer.
pub fn page() -> Line {
    with_headers(
        Status::Ok,
        "text/html; charset=utf-8",
        &[
            ("Content-Security-Policy", PAGE_POLICY),
            ("Referrer-Policy", "no-referrer"),
        ],
        PAGE.as_bytes(),
    )
}

/// The answer that turns the connection into a WebSocket, with the client's key answered.
pub fn switching_protocols(accept: &str) -> Line {
    Line::raw(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .as_bytes(),
    )
}

fn with_headers(status: Status, content_type: &str, extra: &[(&str, &str)], body: &[u8]) -> Line {
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        status.line(),
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Line::raw(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_says_its_length_and_closes() {
        let bytes = text(Status::NotFound, "no such page").as_bytes().to_vec();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("Content-Length: 13\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nno such page\n"), "{text}");
    }

    #[test]
    fn the_page_is_self_contained_and_fenced_in() {
        let bytes = page().as_bytes().to_vec();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Content-Security-Policy: default-src 'none'"));
        assert!(text.contains("<!doctype html>"));
        for outside in ["src=\"http", "href=\"http", "@import", "<link"] {
            assert!(!PAGE.contains(outside), "the page fetches {outside}");
        }
    }
}
