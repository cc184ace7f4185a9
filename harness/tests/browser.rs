//! `index.html` in a real browser: headless Chromium loads the report that `dualbench plot`
//! writes (and the committed reports of `results/reference` and `results/paper`) from disk,
//! and every image on the page must have loaded with a non-zero size.
//!
//! The page carries no script of its own; the test loads a copy with a `<base>` pointing at
//! the report's folder and a few lines that, after the load event, write the number of images
//! and of loaded images into the DOM, which Chromium dumps. It also saves a screenshot beside
//! the test binaries (`report-screenshot.png` in cargo's test temporary directory) for a
//! person to look at.
//!
//! Chromium is the Debian package `chromium` (`.ci/run` installs it). Without it this test
//! passes with a note, unless `DUALBENCH_REQUIRE_BROWSER` is set (CI sets it): then a missing
//! browser fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const PROBE: &str = "<script>window.addEventListener('load', () => {\
 const images = Array.from(document.images);\
 const loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;\
 document.body.setAttribute('data-images', images.length);\
 document.body.setAttribute('data-loaded', loaded);\
});</script>";

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

/// Load the report in `report_dir` and return (images on the page, images loaded); save a
/// screenshot to `screenshot`.
fn render(browser: &Path, report_dir: &Path, screenshot: &Path) -> (usize, usize) {
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
        .args(["--dump-dom", &url])
        .output()
        .expect("running chromium");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dom = String::from_utf8_lossy(&dump.stdout).to_string();
    let attribute = |name: &str| -> usize {
        let key = format!("{name}=\"");
        let start = dom
            .find(&key)
            .unwrap_or_else(|| panic!("the page did not run the probe (no {name}):\n{dom}"))
            + key.len();
        dom[start..].split('"').next().unwrap().parse().unwrap()
    };
    let counts = (attribute("data-images"), attribute("data-loaded"));
    let shot = Command::new(browser)
        .args(headless(&profile))
        .args([
            "--window-size=1200,2400",
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
    counts
}

#[test]
fn every_image_of_the_report_loads_in_chromium() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    let status = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(["plot", "--quiet", "--results"])
        .arg(&results)
        .status()
        .unwrap();
    assert!(status.success());
    let html = std::fs::read_to_string(results.join("index.html")).unwrap();
    let expected = html.matches("<img ").count();
    assert_eq!(expected, 5, "cost, ladder, overhead, heap and phases");
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let (images, loaded) = render(&browser, &results, &screenshot);
    eprintln!("screenshot: {}", screenshot.display());
    assert_eq!(images, expected);
    assert_eq!(
        loaded,
        images,
        "{} of {images} images failed to load",
        images - loaded
    );
}

#[test]
fn the_committed_reports_render_with_every_image() {
    let Some(browser) = browser() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for suite in ["reference", "paper"] {
        let dir = root.join("results").join(suite);
        let html = std::fs::read_to_string(dir.join("index.html"))
            .unwrap_or_else(|e| panic!("results/{suite}/index.html: {e}"));
        let expected = html.matches("<img ").count();
        let screenshot =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{suite}-screenshot.png"));
        let (images, loaded) = render(&browser, &dir, &screenshot);
        assert!(
            images > 0 && images == expected,
            "results/{suite}: {images} vs {expected}"
        );
        assert_eq!(
            loaded, images,
            "results/{suite}: {loaded} of {images} images loaded"
        );
    }
}
