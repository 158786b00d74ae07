//! A real browser for the dashboard's tests: headless Chromium driven over WebDriver (ChromeDriver)
//! with `fantoccini`. Where ChromeDriver is missing the tests pass without running and a notice
//! says so, unless `NECTR_REQUIRE_BROWSER=1` (CI), which makes them fail.
//!
//! Debian's packages: `apt-get install chromium chromium-driver` (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`); `NECTR_CHROMEDRIVER` and `NECTR_CHROMIUM` name others.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// ChromeDriver, and the browser session it drives; both end when this is dropped.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
}

fn found(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var(var).map_or_else(|_| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

impl Browser {
    /// Starts ChromeDriver on a free port and a headless Chromium session; screenshots go under
    /// `shots` (created). `None` (with the notice) where ChromeDriver or Chromium is missing.
    pub async fn start(shots: PathBuf) -> Option<Self> {
        let (Some(driver), Some(chromium)) = (
            found("NECTR_CHROMEDRIVER", "/usr/bin/chromedriver"),
            found("NECTR_CHROMIUM", "/usr/bin/chromium"),
        ) else {
            if std::env::var("NECTR_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("NECTR_REQUIRE_BROWSER=1 but chromedriver or chromium is missing");
            }
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTICE: chromium and chromedriver are not installed: the browser tests were SKIPPED \
                 (they passed without running). `apt-get install chromium chromium-driver` runs them.\n"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,900"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut client = None;
        for _ in 0..50 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        std::fs::create_dir_all(&shots).expect("the screenshots' directory");
        Some(Self {
            client: client.expect("a browser session"),
            driver,
            shots,
        })
    }

    /// Saves the page as `<name>.png` under the screenshots' directory.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("the screenshot saved");
    }

    /// Clicks the element `locator` finds (failing the test when there is none).
    pub async fn click(&self, locator: fantoccini::Locator<'_>) {
        self.client
            .find(locator)
            .await
            .expect("the element is on the page")
            .click()
            .await
            .expect("the click");
    }

    /// The page's HTML now.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page's source")
    }

    /// Waits (5 s at most) until the page's HTML contains `text`.
    pub async fn wait_for_text(&self, text: &str) -> String {
        for _ in 0..50 {
            let html = self.source().await;
            if html.contains(text) {
                return html;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("'{text}' never appeared in:\n{}", self.source().await);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
