//! `index.html` in a real browser: headless Chromium loads the report that `dualbench plot`
//! writes (and the committed reports of `results/reference`, `results/paper` and
//! `results/perf`) from disk in a 1280 px window. Every image on the page must have loaded with
//! a non-zero size, the page must be no wider than the window, every strategy's header of the
//! paper table must be wholly in view (not cut off by the window or by the box that scrolls
//! the table), and the claims section must have one row per claim.
//!
//! The page carries no script of its own; the test loads a copy with a `<base>` pointing at
//! the report's folder and a few lines that, after the load event, write what they measured
//! into the DOM, which Chromium dumps. It also saves a screenshot beside
//! the test binaries (`report-screenshot.png` in cargo's test temporary directory) for a
//! person to look at.
//!
//! Chromium is the Debian package `chromium` (`.ci/run` installs it). Without it this test
//! passes with a note, unless `DUALBENCH_REQUIRE_BROWSER` is set (CI sets it): then a missing
//! browser fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// After the load event, writes into the DOM (which Chromium dumps): the images and the
/// loaded images; the window's width and the page's; the paper table's headers and those not
/// wholly in view (left or right of the window, or of the box that scrolls the table); and
/// the claims table's rows.
const PROBE: &str = "<script>window.addEventListener('load', () => {\
 const body = document.body;\
 const images = Array.from(document.images);\
 const loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;\
 body.setAttribute('data-images', images.length);\
 body.setAttribute('data-loaded', loaded);\
 const width = window.innerWidth;\
 body.setAttribute('data-viewport', width);\
 body.setAttribute('data-page-width', document.documentElement.scrollWidth);\
 const heads = Array.from(document.querySelectorAll('table.paper tr:first-child th'));\
 const hidden = heads.filter(th => {\
   const r = th.getBoundingClientRect();\
   const frame = th.closest('.scroll').getBoundingClientRect();\
   return r.width <= 0 || r.left < Math.max(0, frame.left) - 0.5\
     || r.right > Math.min(width, frame.right) + 0.5;\
 });\
 body.setAttribute('data-headers', heads.length);\
 body.setAttribute('data-hidden', hidden.map(th => th.textContent).join(' '));\
 body.setAttribute('data-claim-rows', document.querySelectorAll('table.claims tr td.verdict').length);\
});</script>";

/// The width of the window the report is checked in.
const WINDOW_WIDTH: usize = 1280;

/// What the probe found on a page.
#[derive(Debug)]
struct Probe {
    images: usize,
    loaded: usize,
    viewport: usize,
    page_width: usize,
    headers: usize,
    hidden: String,
    claim_rows: usize,
}

impl Probe {
    /// Every image loaded, the page no wider than the window, every strategy's header of the
    /// paper table in view, and a claims section with `claims` rows.
    fn assert_report_fits(&self, what: &str, claims: usize) {
        assert!(self.images > 0, "{what}: no image");
        assert_eq!(
            self.loaded,
            self.images,
            "{what}: {} of {} images failed to load",
            self.images - self.loaded,
            self.images
        );
        assert_eq!(self.viewport, WINDOW_WIDTH, "{what}: the window");
        assert!(
            self.page_width <= WINDOW_WIDTH,
            "{what}: the page is {} px wide in a {WINDOW_WIDTH} px window",
            self.page_width
        );
        assert!(self.headers > 2, "{what}: no paper table");
        assert!(
            self.hidden.is_empty(),
            "{what}: headers out of view at {WINDOW_WIDTH} px: {}",
            self.hidden
        );
        assert_eq!(self.claim_rows, claims, "{what}: the claims section's rows");
    }
}

/// The number of claims in the repository's claims.toml.
fn claims_in_repository() -> usize {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../claims.toml"))
            .unwrap();
    text.lines().filter(|l| l.trim() == "[[claim]]").count()
}

/// The Chromium executable: `DUALBENCH_CHROMIUM`, else the first of the usual names on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DUALBENCH_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"]
                .into_iter()
                .map(move |name| dir.join(name))
        })
        .find(|p| p.is_file())
}

/// The browser, or `None` (with a note) when it is absent and not required.
fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("DUALBENCH_REQUIRE_BROWSER").is_none(),
            "DUALBENCH_REQUIRE_BROWSER is set but no chromium is on PATH (Debian: apt-get \
             install chromium; or set DUALBENCH_CHROMIUM)"
        );
        eprintln!("note: no chromium on PATH; the browser test did not run");
    }
    found
}

/// Chromium's flags for a headless run on a machine without network or display.
fn headless(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=15000",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Load the report in `report_dir` in a window [`WINDOW_WIDTH`] wide and return what the
/// probe found; save a screenshot to `screenshot`.
fn render(browser: &Path, report_dir: &Path, screenshot: &Path) -> Probe {
    let scratch = tempfile::tempdir().unwrap();
    let report_dir = report_dir.canonicalize().unwrap();
    let html = std::fs::read_to_string(report_dir.join("index.html")).unwrap();
    let probe = html
        .replacen(
            "<head>",
            &format!(
                "<head>\n<base href=\"file://{}/\">",
                report_dir
                    .display()
                    .to_string()
                    .replace('&', "&amp;")
                    .replace('"', "&quot;")
            ),
            1,
        )
        .replacen("</body>", &format!("{PROBE}\n</body>"), 1);
    let page = scratch.path().join("probe.html");
    std::fs::write(&page, probe).unwrap();
    let url = format!("file://{}", page.display());
    let profile = scratch.path().join("profile");
    let dump = Command::new(browser)
        .args(headless(&profile))
        .args([
            &format!("--window-size={WINDOW_WIDTH},2400"),
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("running chromium");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dom = String::from_utf8_lossy(&dump.stdout).to_string();
    let text = |name: &str| -> String {
        let key = format!("{name}=\"");
        let start = dom
            .find(&key)
            .unwrap_or_else(|| panic!("the page did not run the probe (no {name}):\n{dom}"))
            + key.len();
        dom[start..].split('"').next().unwrap().to_string()
    };
    let number = |name: &str| -> usize { text(name).parse().unwrap() };
    let probe = Probe {
        images: number("data-images"),
        loaded: number("data-loaded"),
        viewport: number("data-viewport"),
        page_width: number("data-page-width"),
        headers: number("data-headers"),
        hidden: text("data-hidden"),
        claim_rows: number("data-claim-rows"),
    };
    let shot = Command::new(browser)
        .args(headless(&profile))
        .args([
            &format!("--window-size={WINDOW_WIDTH},2400"),
            &format!("--screenshot={}", screenshot.display()),
            &url,
        ])
        .output()
        .expect("running chromium");
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(screenshot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    probe
}

#[test]
fn the_report_loads_every_image_and_fits_a_1280_px_window_with_its_claims() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    // The widest table there can be: a column for every strategy, the peers included, with
    // medians of six digits and their intervals, each cell with its distance to the floor
    // (`manual`) and its cold ratio.
    let mut rows = common::rows();
    let names = strategies::StrategyKind::ALL
        .iter()
        .map(|s| s.name())
        .chain(strategies::peers::CATALOGUE.iter().map(|p| p.name));
    let mut strategies: Vec<&str> = names.collect();
    strategies.sort_unstable();
    strategies.dedup();
    for name in &strategies {
        if !rows
            .iter()
            .any(|r| r.strategy == *name && r.workload == "lse")
        {
            let median = if *name == "manual" {
                10_037.1
            } else {
                123_456.7
            };
            let mut row = common::ok("lse", Some(100), name, median, 100.0, 4096, &[]);
            row.cold_ns = Some(9_888_888.8);
            rows.push(row);
        }
    }
    common::write_rows(&results, rows);
    let status = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(["plot", "--quiet", "--results"])
        .arg(&results)
        .status()
        .unwrap();
    assert!(status.success());
    let html = std::fs::read_to_string(results.join("index.html")).unwrap();
    let expected = html.matches("<img ").count();
    assert_eq!(expected, 5, "cost, ladder, overhead, heap and phases");
    assert!(
        html.contains(">floor 12.3×<") && html.contains(">cold 80.1×<"),
        "the cells give the floor and the cold ratio"
    );
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let probe = render(&browser, &results, &screenshot);
    eprintln!("screenshot: {}", screenshot.display());
    assert_eq!(probe.images, expected);
    // Workload, size and every strategy but primal.
    assert_eq!(probe.headers, 2 + strategies.len() - 1, "{probe:?}");
    probe.assert_report_fits("the synthetic report", claims_in_repository());
}

#[test]
fn the_committed_reports_render_with_every_image_and_fit_a_1280_px_window() {
    let Some(browser) = browser() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for suite in ["reference", "paper", "perf"] {
        let dir = root.join("results").join(suite);
        let html = std::fs::read_to_string(dir.join("index.html"))
            .unwrap_or_else(|e| panic!("results/{suite}/index.html: {e}"));
        let expected = html.matches("<img ").count();
        let screenshot =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{suite}-screenshot.png"));
        let probe = render(&browser, &dir, &screenshot);
        assert_eq!(probe.images, expected, "results/{suite}");
        probe.assert_report_fits(&format!("results/{suite}"), claims_in_repository());
    }
}
