//! Headless Chromium driven through the DevTools protocol (`headless_chrome`): the chat page
//! opened like a user would, typed into, clicked, read back and photographed.
//!
//! Chromium is required: without it (Debian's `chromium` package; `bash .ci/test`
//! installs it) these tests fail, saying what to install. They never skip.

#![allow(dead_code)] // The tests and the screenshot example each use their own subset.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};

/// How long the page has to show what a test waits for: generous, for two busy cores.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium with one tab.
pub struct Page {
    /// Kept alive for the tab's sake.
    _browser: Browser,
    tab: Arc<Tab>,
}

impl Page {
    /// Starts Chromium with a window of `width` x `height` and opens `http://web/`.
    pub fn open(web: SocketAddr, (width, height): (u32, u32)) -> Page {
        let path = headless_chrome::browser::default_executable().unwrap_or_else(|e| {
            panic!("the browser tests need Chromium (apt-get install chromium): {e}")
        });
        let options = LaunchOptions::default_builder()
            .path(Some(path))
            .headless(true)
            // Root, in CI: Chromium's sandbox refuses to run as root.
            .sandbox(false)
            .window_size(Some((width, height)))
            .idle_browser_timeout(Duration::from_secs(300))
            .args(vec![
                OsStr::new("--disable-gpu"),
                OsStr::new("--no-first-run"),
            ])
            .build()
            .expect("launch options");
        let browser = Browser::new(options).expect("Chromium starts");
        let tab = browser.new_tab().expect("a tab");
        tab.set_default_timeout(PAGE_TIMEOUT);
        tab.navigate_to(&format!("http://{web}/"))
            .and_then(|tab| tab.wait_until_navigated())
            .expect("the page loads");
        Page {
            _browser: browser,
            tab,
        }
    }

    /// The value of the JavaScript expression `script`, which must give a string.
    pub fn eval(&self, script: &str) -> String {
        let result = self
            .tab
            .evaluate(&format!("String({script})"), false)
            .unwrap_or_else(|e| panic!("{script}: {e}"));
        match result.value {
            Some(serde_json::Value::String(text)) => text,
            other => panic!("{script}: not a string: {other:?}"),
        }
    }

    /// Every line the page shows, as text, one per row.
    pub fn log(&self) -> String {
        self.eval("[...document.querySelectorAll('#log .row')].map(r => r.textContent).join('\\n')")
    }

    /// Waits until the JavaScript condition `script` is true; fails with the page's log.
    pub fn wait_for(&self, what: &str, script: &str) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while Instant::now() < deadline {
            if self.eval(&format!("!!({script})")) == "true" {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the page never showed {what}; it shows:\n{}", self.log());
    }

    /// Waits until a row of the log contains `text`.
    pub fn wait_for_line(&self, text: &str) {
        let quoted = serde_json::to_string(text).expect("a JSON string");
        self.wait_for(
            text,
            &format!(
                "[...document.querySelectorAll('#log .row')].some(r => r.textContent.includes({quoted}))"
            ),
        );
    }

    /// Types `text` into the input box, as a user would, and presses Enter.
    pub fn type_line(&self, text: &str) {
        self.tab
            .find_element("#input")
            .and_then(|input| input.click().map(|_| ()))
            .expect("the input box");
        self.tab.type_str(text).expect("typing");
        self.tab.press_key("Enter").expect("Enter");
    }

    /// Presses `key` (a DOM key name such as "ArrowUp") in whatever has the focus.
    pub fn press(&self, key: &str) {
        self.tab
            .press_key(key)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }

    /// Clicks the element `selector` finds.
    pub fn click(&self, selector: &str) {
        self.tab
            .wait_for_element(selector)
            .and_then(|element| element.click().map(|_| ()))
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    /// Makes the page see `prefers-color-scheme: dark`, as on a device set to dark mode.
    pub fn prefer_dark(&self) {
        use headless_chrome::protocol::cdp::Emulation::{MediaFeature, SetEmulatedMedia};
        self.tab
            .call_method(SetEmulatedMedia {
                media: None,
                features: Some(vec![MediaFeature {
                    name: "prefers-color-scheme".into(),
                    value: "dark".into(),
                }]),
            })
            .expect("dark mode emulated");
    }

    /// A PNG of what the page shows now.
    pub fn screenshot(&self) -> Vec<u8> {
        self.tab
            .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("a screenshot")
    }
}
