//! The chat page in a real browser (headless Chromium, through the DevTools protocol),
//! against the real server: a page and an `nc`-style client chat both ways, hostile text is
//! shown as text, rooms and members follow the chat, reading back is not interrupted, the
//! page fits a phone and follows dark mode, and it reconnects by itself after a restart,
//! asking for the password its nickname needs. One browser at a time: two cores do not run
//! two Chromiums and a server well.

#[path = "util/browser.rs"]
mod browser;
#[path = "util/mod.rs"]
mod util;

use std::sync::Mutex;

use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;

use browser::Page;
use util::web::web_config;
use util::{start, ChildServer, Client};

/// Chromium is heavy: the tests take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The size of a laptop's window.
const DESKTOP: (u32, u32) = (1100, 700);
/// The size of a phone's screen, in CSS pixels.
const PHONE: (u32, u32) = (390, 800);

/// A page and a terminal user chat both ways; what the terminal user says is on the page,
/// what the page says reaches the terminal; markup from the network stays text.
#[test]
fn a_page_and_a_terminal_chat_both_ways_and_hostile_text_stays_text() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(
        Backend::Mio,
        Config {
            rate_limit: 0,
            ..web_config()
        },
    );
    let page = Page::open(server.http_addr().expect("a web listener"), DESKTOP);
    page.wait_for_line("What is your nickname?");
    page.wait_for("the input focused", "document.activeElement.id === 'input'");
    page.type_line("wendy");
    page.wait_for_line("Welcome, wendy!");
    let mut tom = Client::join(server.local_addr(), "tom");
    page.wait_for_line("tom joined #lobby");
    page.wait_for(
        "tom in the member list",
        "document.querySelector('#members').textContent.includes('tom')",
    );
    tom.send("hello page, see https://example.org/x");
    page.wait_for_line("tom: hello page");
    page.wait_for(
        "the link made clickable",
        "document.querySelector('#log a[href=\"https://example.org/x\"]')",
    );
    page.type_line("hello terminal");
    tom.expect("wendy: hello terminal");
    page.type_line("/me waves");
    tom.expect("* wendy waves");
    tom.send("<script>window.pwned = 1</script>");
    tom.send("<img src=x onerror=\"window.pwned = 2\">");
    page.wait_for_line("<img src=x onerror=\"window.pwned = 2\">");
    page.wait_for_line("<script>window.pwned = 1</script>");
    assert_eq!(page.eval("typeof window.pwned"), "undefined");
    assert_eq!(
        page.eval("document.querySelectorAll('#log img, #log script').length"),
        "0"
    );
    for n in 0..60 {
        tom.send(&format!("filler {n}"));
    }
    page.wait_for_line("filler 59");
    let at_end = "(() => { const l = document.querySelector('#log'); \
                  return l.scrollHeight - l.scrollTop - l.clientHeight < 40; })()";
    page.wait_for("the log scrolled to its end", at_end);
    page.eval("document.querySelector('#log').scrollTop = 0");
    tom.send("said while wendy reads back");
    page.wait_for_line("said while wendy reads back");
    page.wait_for(
        "the new-messages marker",
        "!document.querySelector('#more').hidden",
    );
    assert_eq!(
        page.eval("document.querySelector('#log').scrollTop"),
        "0",
        "no jump while reading back"
    );
    page.click("#more");
    page.wait_for("the marker gone", "document.querySelector('#more').hidden");
    page.wait_for("the log back at its end", at_end);
    tom.send("/join #rust");
    page.wait_for_line("tom left #lobby");
    page.type_line("/rooms");
    page.wait_for(
        "#rust in the room list",
        "document.querySelector('#rooms').textContent.includes('#rust')",
    );
    page.click("#rooms li:nth-child(2) button");
    page.wait_for(
        "#rust as the current room",
        "document.querySelector('#room').textContent === '#rust'",
    );
    tom.line_where(|line| line.contains("wendy joined #rust"));
    page.wait_for(
        "both in #rust's member list",
        "['tom', 'wendy'].every(n => document.querySelector('#members').textContent.includes(n))",
    );
    let typed = "document.querySelector('#input').value";
    page.press("ArrowUp");
    assert_eq!(page.eval(typed), "/rooms");
    page.press("ArrowUp");
    assert_eq!(page.eval(typed), "/me waves");
    page.press("ArrowDown");
    page.press("ArrowDown");
    assert_eq!(page.eval(typed), "", "back to what was being typed");
    page.press("ArrowUp");
    page.press("ArrowUp");
    page.press("Enter");
    tom.expect("* wendy waves");
}

/// The server goes away and comes back on the same address: the page says so, reconnects
/// with back-off, logs in again as the same nickname, asks for its password, and chats.
#[test]
fn the_page_reconnects_after_a_restart_and_asks_for_the_password() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("chat.db");
    let db = db.to_str().expect("a UTF-8 path");
    let first = ChildServer::spawn(Backend::Mio, &["--db", db, "--http-addr", "127.0.0.1:0"]);
    let web = first.http_addr.expect("a web listener");
    let page = Page::open(web, DESKTOP);
    page.type_line("wendy");
    page.wait_for_line("Welcome, wendy!");
    page.type_line("/register correct horse battery");
    page.wait_for_line("wendy is registered");
    drop(first);
    page.wait_for_line("connection lost; reconnecting");
    page.wait_for(
        "the status saying so",
        "document.querySelector('#status').textContent.includes('retrying')",
    );
    let web_flag = web.to_string();
    let second = ChildServer::spawn(Backend::Mio, &["--db", db, "--http-addr", &web_flag]);
    page.wait_for_line("logging in again as wendy");
    page.wait_for(
        "the password box",
        "document.querySelector('#input').type === 'password'",
    );
    page.type_line("correct horse battery");
    page.wait_for(
        "a second welcome",
        "document.querySelector('#log').textContent.split('Welcome, wendy!').length === 3",
    );
    assert!(
        !page.log().contains("correct horse"),
        "the password is never shown"
    );
    let mut tom = Client::join(second.addr, "tom");
    tom.send("welcome back");
    page.wait_for_line("tom: welcome back");
    page.type_line("thanks");
    tom.expect("wendy: thanks");
}

/// On a phone-sized screen nothing runs off the side and the room panel folds away behind
/// a button; a device in dark mode gets the dark colours.
#[test]
fn the_page_fits_a_phone_and_follows_dark_mode() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(Backend::Mio, web_config());
    let page = Page::open(server.http_addr().expect("a web listener"), PHONE);
    page.type_line("wendy");
    page.wait_for_line("Welcome, wendy!");
    let mut tom = Client::join(server.local_addr(), "tom");
    tom.send(&format!("a long word: {}", "x".repeat(300)));
    page.wait_for_line("a long word");
    assert_eq!(
        page.eval("document.documentElement.scrollWidth <= window.innerWidth"),
        "true",
        "nothing wider than the screen"
    );
    let panel_shown = "getComputedStyle(document.querySelector('#panel')).display !== 'none'";
    assert_eq!(page.eval(panel_shown), "false", "the panel folded away");
    page.click("#toggle");
    page.wait_for("the panel shown", panel_shown);
    let background = "getComputedStyle(document.body).backgroundColor";
    let light = page.eval(background);
    page.prefer_dark();
    page.wait_for(
        "the dark background",
        &format!("{background} !== {}", serde_json::json!(light)),
    );
    assert_eq!(page.eval(background), "rgb(21, 21, 24)");
}
