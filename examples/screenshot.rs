//! Takes `docs/screenshot.png`, the picture the README opens with: a chat in progress, seen
//! in headless Chromium, with terminal users talking to a browser user.
//!
//! Run it from the repository's root (it needs Debian's `chromium`):
//! `cargo run --example screenshot`

#[path = "../tests/util/browser.rs"]
mod browser;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use chat_tokio_stream::config::{Config, Location};
use chat_tokio_stream::server::{self, Backend};

use browser::Page;

/// Where the picture goes.
const OUTPUT: &str = "docs/screenshot.png";

/// A terminal user, like `nc`: it types lines, and its output is read (and dropped) on a
/// thread so that the server never finds it slow.
struct Terminal(TcpStream);

impl Terminal {
    fn join(addr: SocketAddr, nick: &str) -> Terminal {
        let stream = TcpStream::connect(addr).expect("connect");
        let reader = BufReader::new(stream.try_clone().expect("a second handle"));
        std::thread::spawn(move || reader.lines().map_while(Result::ok).for_each(drop));
        let mut terminal = Terminal(stream);
        terminal.say(nick);
        terminal
    }

    fn say(&mut self, line: &str) {
        writeln!(self.0, "{line}").expect("send a line");
        // Lines a person types arrive a moment apart, and each gets its own time stamp.
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn main() {
    let config = Config {
        addr: "127.0.0.1:0".parse().expect("a literal address"),
        http: Some("127.0.0.1:0".parse().expect("a literal address")),
        db: Location::Memory,
        ..Config::default()
    };
    let server = server::start(Backend::Mio, config).expect("the server starts");
    let web = server.http_addr().expect("a web listener");
    let mut alice = Terminal::join(server.local_addr(), "alice");
    let mut bob = Terminal::join(server.local_addr(), "bob");
    alice.say("/join #rust");
    bob.say("/join #rust");
    let page = Page::open(web, (1000, 620));
    page.wait_for_line("What is your nickname?");
    page.type_line("wendy");
    page.wait_for_line("Welcome, wendy!");
    page.type_line("/join #rust");
    page.wait_for(
        "the room",
        "document.querySelector('#room').textContent === '#rust'",
    );
    alice.say("hi wendy! welcome to #rust");
    bob.say("the mio loop serves this page too: https://docs.rs/mio");
    page.type_line("hello from the browser, same rooms as nc");
    alice.say("/me waves from her terminal");
    bob.say("/msg wendy psst: try /who and /rooms");
    page.type_line("/me waves back");
    alice.say("<b>markup</b> stays text, as it should");
    page.wait_for_line("markup");
    page.wait_for(
        "the member list",
        "document.querySelectorAll('#members li').length === 3",
    );
    std::fs::write(OUTPUT, page.screenshot()).expect("write the screenshot");
    println!("wrote {OUTPUT}");
}
