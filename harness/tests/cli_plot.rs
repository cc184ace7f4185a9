//! `dualbench plot` end to end on a synthetic results file: every figure is written as SVG
//! that parses as XML and carries its series labels and axis titles; the output is the same
//! bytes when drawn twice; a single size is drawn as points; bad input exits 2 with a message
//! that names the problem; `run` plots unless `--no-plot`.

mod common;

use common::dualbench;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use dualbench::results::Status;

fn plot_ok(args: &[&str]) -> Output {
    let out = dualbench(args);
    assert!(
        out.status.success(),
        "dualbench {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Plot `results` into itself, SVG only, quietly.
fn plot_svg(results: &Path) {
    plot_ok(&[
        "plot",
        "--quiet",
        "--images",
        "svg",
        "--results",
        results.to_str().unwrap(),
    ]);
}

fn plot_fails(args: &[&str]) -> String {
    let out = dualbench(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Every text node of an SVG file, after parsing it as XML.
fn svg_texts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect()
}

/// The polylines of an SVG file that join points of different x and different y over more
/// than a marker's width: the lines through a series.
fn series_lines(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| {
            let points: Vec<(f64, f64)> = n
                .attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|p| {
                    let (x, y) = p.split_once(',')?;
                    Some((x.parse().ok()?, y.parse().ok()?))
                })
                .collect();
            let dx = points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max)
                - points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
            let dy = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)
                - points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            dx > 12.0 && dy > 12.0
        })
        .count()
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn every_figure_is_xml_with_its_series_labels_and_axis_titles() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    let out = plot_ok(&["plot", "--results", results.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report: "), "{stderr}");
    assert!(stderr.contains("parallel speedup: not drawn"), "{stderr}");

    let figures = results.join("figures");
    let expected: BTreeSet<String> = [
        "cost",
        "heap",
        "cost-fdotprod",
        "cost-square-chain",
        "cost-lse",
        "ladder",
        "overhead",
        "heap-fdotprod",
        "heap-square-chain",
        "heap-lse",
        "phases",
    ]
    .iter()
    .flat_map(|s| [format!("{s}.svg"), format!("{s}.png")])
    .collect();
    assert_eq!(names_in(&figures), expected);
    for name in &expected {
        let bytes = std::fs::read(figures.join(name)).unwrap();
        if name.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        }
    }

    let cost = svg_texts(&figures.join("cost-fdotprod.svg"));
    for label in [
        "fdotprod",
        "time per gradient",
        "size (n)",
        "tape n^1",
        "dualrev n^1",
        "primal n^1",
    ] {
        assert!(cost.iter().any(|t| t == label), "{label} not in {cost:?}");
    }
    // naive has two sizes (the third timed out): too few for a fit, so no exponent.
    assert!(cost.iter().any(|t| t == "naive"), "{cost:?}");

    let ladder = svg_texts(&figures.join("ladder.svg"));
    for label in [
        "square-chain: work",
        "square-chain: time",
        "fdotprod: work",
        "work (exact counters)",
        "naive",
        "staged",
        "cayley",
        "sparse",
        "dualrev",
    ] {
        assert!(
            ladder.iter().any(|t| t == label),
            "{label} not in {ladder:?}"
        );
    }
    let overhead = svg_texts(&figures.join("overhead.svg"));
    for label in [
        "overhead",
        "fdotprod n=1000",
        "square-chain k=20",
        "fmult",
        "lse n=100",
    ] {
        assert!(
            overhead.iter().any(|t| t == label),
            "{label} not in {overhead:?}"
        );
    }
    let heap = svg_texts(&figures.join("heap-fdotprod.svg"));
    assert!(heap.iter().any(|t| t == "peak heap"), "{heap:?}");
    let phases = svg_texts(&figures.join("phases.svg"));
    assert!(phases.iter().any(|t| t == "pale: reverse"), "{phases:?}");

    let index = std::fs::read_to_string(results.join("index.html")).unwrap();
    for name in expected.iter().filter(|n| n.ends_with(".svg")) {
        assert!(index.contains(&format!("\"figures/{name}\"")), "{name}");
    }
    assert!(index.contains("src=\"figures/cost.svg\""), "the overview");
    assert!(
        index.contains("dualbench run --suite quick"),
        "the run's command"
    );
    assert!(index.contains("fdotprod / naive: timeout at size 10000"));
    let md = std::fs::read_to_string(results.join("table.md")).unwrap();
    assert!(md.contains("| workload | size | tape | naive |"), "{md}");
    // The default size is the one where the most strategies finished: naive timed out at
    // 10000, so fdotprod's row is at 1000.
    assert!(
        md.contains("| fdotprod | 1000 | 10 µs [9.5, 10.5] 1× | 1 ms [0.95, 1.05] 100× |"),
        "{md}"
    );
    let tex = std::fs::read_to_string(results.join("table.tex")).unwrap();
    assert!(
        tex.contains("\\toprule") && tex.contains("\\bottomrule"),
        "{tex}"
    );
    assert!(tex.contains("\\texttt{square-chain}"), "{tex}");
}

#[test]
fn the_same_results_draw_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        plot_ok(&[
            "plot",
            "--quiet",
            "--results",
            results.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    for name in names_in(&a.join("figures")) {
        let (x, y) = (a.join("figures").join(&name), b.join("figures").join(&name));
        assert!(
            std::fs::read(&x).unwrap() == std::fs::read(&y).unwrap(),
            "{name} differs"
        );
    }
    for name in ["index.html", "table.md", "table.tex"] {
        assert_eq!(
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_single_size_is_drawn_as_points_without_a_fit() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    plot_svg(&results);
    let texts = svg_texts(&results.join("figures/cost-lse.svg"));
    assert!(texts.iter().any(|t| t == "tape"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.starts_with("tape n^")), "{texts:?}");
    // Interval bars, their caps, legend segments and marker edges are vertical, horizontal or
    // short; a line through points of different sizes is none of these.
    assert_eq!(series_lines(&results.join("figures/cost-lse.svg")), 0);
    assert_eq!(series_lines(&results.join("figures/cost-fdotprod.svg")), 4);
    assert!(
        !results.join("figures/cost-lse.png").exists(),
        "--images svg"
    );
}

#[test]
fn the_overhead_figure_marks_the_floor_only_when_manual_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let without = dir.path().join("without");
    common::write(&without);
    plot_svg(&without);
    let texts = svg_texts(&without.join("figures/overhead.svg"));
    assert!(!texts.iter().any(|t| t.contains("floor")), "{texts:?}");

    let with = dir.path().join("with");
    let mut rows = common::rows();
    for n in [100u64, 1000, 10000] {
        let x = n as f64;
        rows.push(common::ok(
            "fdotprod",
            Some(n),
            "manual",
            1.2 * x,
            x,
            0,
            &[("vjp_calls", 1)],
        ));
    }
    common::write_rows(&with, rows);
    plot_svg(&with);
    let texts = svg_texts(&with.join("figures/overhead.svg"));
    assert!(texts.iter().any(|t| t == "manual"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "dashed: the floor"), "{texts:?}");
    let report = std::fs::read_to_string(with.join("index.html")).unwrap();
    assert!(report.contains("the floor no AD strategy goes below"));
}

#[test]
fn a_thread_count_draws_the_speedup_figure() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    let rows = [(1, 1000.0), (2, 560.0)].map(|(threads, ns)| {
        let mut r = common::ok("fparticles", Some(1000), "dualrev", ns, 100.0, 0, &[]);
        r.threads = threads;
        r
    });
    common::write_rows(&results, rows.to_vec());
    plot_svg(&results);
    let texts = svg_texts(&results.join("figures/speedup-fparticles.svg"));
    for label in ["threads", "speedup", "ideal", "dualrev (size=1000)"] {
        assert!(texts.iter().any(|t| t == label), "{label} not in {texts:?}");
    }
}

#[test]
fn span_counters_draw_the_bound_and_fill_the_parallel_table() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    // W = 2000 records, S = 1250: W/S = 1.6, below the 2 threads measured.
    let counters = [
        ("work_forward", 1200),
        ("span_forward", 1000),
        ("work_reverse", 800),
        ("span_reverse", 250),
    ];
    let rows = [(1, 1000.0), (2, 700.0)].map(|(threads, ns)| {
        let mut r = common::ok(
            "par-tree",
            Some(1024),
            "dualrev-par",
            ns,
            100.0,
            0,
            &counters,
        );
        r.threads = threads;
        r
    });
    common::write_rows(&results, rows.to_vec());
    plot_svg(&results);
    let texts = svg_texts(&results.join("figures/speedup-par-tree.svg"));
    for label in ["ideal", "dualrev-par (n=1024)", "dualrev-par W/S=1.6"] {
        assert!(texts.iter().any(|t| t == label), "{label} not in {texts:?}");
    }
    let table = std::fs::read_to_string(results.join("table.md")).unwrap();
    assert!(
        table.contains("| par-tree | 1024 | dualrev-par | 2 | 1.43x | 1.43x | 1.43x | 1.60x |"),
        "{table}"
    );
    let index = std::fs::read_to_string(results.join("index.html")).unwrap();
    assert!(
        index.contains("<h3 id=\"parallel\">Parallel cases</h3>"),
        "{index}"
    );
}

#[test]
fn claims_verdicts_go_into_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    let claims = dir.path().join("claims.toml");
    std::fs::write(
        &claims,
        r#"[[claim]]
id = "naive-square-chain-exponential"
sentence = "naive is exponential in the depth of square-chain"
strategies = ["naive"]
workloads = ["square-chain"]
metric = "counter:backprop_calls"
x = "size"
model = "exponential 2"
tolerance = 0.01
"#,
    )
    .unwrap();
    plot_ok(&[
        "plot",
        "--quiet",
        "--images",
        "svg",
        "--results",
        results.to_str().unwrap(),
        "--claims",
        claims.to_str().unwrap(),
    ]);
    let index = std::fs::read_to_string(results.join("index.html")).unwrap();
    assert!(index.contains("id=\"claims\""), "{index}");
    assert!(
        index.contains("<td class=\"verdict holds\">holds</td>"),
        "{index}"
    );
    // The given file's claims only: one row.
    assert_eq!(index.matches("<td class=\"verdict ").count(), 1, "{index}");
}

/// The claims of the repository's claims.toml, by id.
fn claim_ids() -> Vec<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../claims.toml"))
            .unwrap();
    let file: toml::Value = toml::from_str(&text).unwrap();
    file["claim"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn without_a_claims_file_the_report_shows_the_built_in_claims() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    // From a folder without claims.toml: the claims are the binary's own.
    let output = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(["plot", "--quiet", "--images", "svg", "--results"])
        .arg(&results)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let index = std::fs::read_to_string(results.join("index.html")).unwrap();
    assert!(index.contains("<h2 id=\"claims\">Claims</h2>"), "{index}");
    assert!(
        index.contains("claims.toml (built into dualbench"),
        "{index}"
    );
    let ids = claim_ids();
    assert_eq!(index.matches("<td class=\"verdict ").count(), ids.len());
    for id in &ids {
        assert!(index.contains(&format!("<code>{id}</code>")), "{id}");
    }
    // The synthetic data decide naive's exponential growth on square-chain.
    let row = index
        .lines()
        .find(|l| l.contains("<code>naive-square-chain-exponential</code>"))
        .unwrap();
    assert!(
        row.contains("<td class=\"verdict holds\">holds</td>"),
        "{row}"
    );
    assert!(row.contains("square-chain"), "{row}");
}

#[test]
fn bad_input_exits_2_with_a_message_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let e = plot_fails(&["plot", "--results", missing.to_str().unwrap()]);
    assert!(e.contains("no such file or directory"), "{e}");

    let results = dir.path().join("run");
    common::write(&results);
    let json = results.join("results.json");
    let text = std::fs::read_to_string(&json).unwrap();
    let old = dir.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(
        old.join("results.json"),
        text.replacen(
            &format!("\"schema_version\": {}", dualbench::results::SCHEMA_VERSION),
            "\"schema_version\": 99",
            1,
        ),
    )
    .unwrap();
    let e = plot_fails(&["plot", "--results", old.to_str().unwrap()]);
    assert!(e.contains("schema"), "{e}");
    assert!(!old.join("figures").exists() && !old.join("index.html").exists());

    let e = plot_fails(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        "--reference",
        "nope",
    ]);
    assert!(
        e.contains("--reference `nope`") && e.contains("tape"),
        "{e}"
    );
    let e = plot_fails(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        "--table-sizes",
        "fdotprod=7",
    ]);
    assert!(
        e.contains("no case of size 7") && e.contains("100, 1000, 10000"),
        "{e}"
    );
    let e = plot_fails(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        "--workloads",
        "gmm",
    ]);
    assert!(e.contains("--workloads `gmm`"), "{e}");
    let e = plot_fails(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        "--images",
        "gif",
    ]);
    assert!(e.contains("gif"), "{e}");
    let e = plot_fails(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        results.to_str().unwrap(),
    ]);
    assert!(e.contains("names") && e.contains("twice"), "{e}");
    let copy = dir.path().join("copy");
    common::write(&copy);
    let e = plot_fails(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        copy.to_str().unwrap(),
    ]);
    assert!(e.contains("is in both"), "{e}");
    assert!(
        !results.join("index.html").exists(),
        "nothing written on bad input"
    );

    let empty = dir.path().join("empty");
    common::write_rows(&empty, Vec::new());
    let e = plot_fails(&["plot", "--results", empty.to_str().unwrap()]);
    assert!(e.contains("no rows"), "{e}");
}

#[test]
fn figures_without_data_are_notes_not_empty_images() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    // Only a fixed-size workload, and its gradient timed out: no figure but the overhead of
    // the primal-only case is empty too.
    let mut rows = vec![common::ok("fmult", None, "primal", 2.0, 2.0, 0, &[])];
    let mut timeout = common::failed("fmult", 0, "tape", Status::Timeout);
    timeout.size = None;
    rows.push(timeout);
    common::write_rows(&results, rows);
    let out = plot_ok(&["plot", "--results", results.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for note in [
        "cost vs size and peak heap vs size: not drawn",
        "ladder: not drawn",
        "overhead: not drawn",
        "phase split: not drawn",
    ] {
        assert!(stderr.contains(note), "{note}: {stderr}");
    }
    assert!(names_in(&results.join("figures")).is_empty());
    let index = std::fs::read_to_string(results.join("index.html")).unwrap();
    assert!(
        index.contains("Not drawn") && index.contains("ladder: not drawn"),
        "{index}"
    );
    assert!(
        index.contains("<td class=\"cell\">timeout</td>"),
        "the table shows the status"
    );
}

#[test]
fn a_stale_figure_from_an_earlier_plot_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    let stale = results.join("figures/cost-gone.svg");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "<svg/>").unwrap();
    let keep = results.join("figures/notes.txt");
    std::fs::write(&keep, "mine").unwrap();
    let out = plot_ok(&[
        "plot",
        "--images",
        "svg",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert!(!stale.exists());
    assert!(keep.exists(), "only images are plot's");
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed the stale figure"));
}

#[test]
fn run_plots_what_it_measured_unless_no_plot() {
    let dir = tempfile::tempdir().unwrap();
    for (out, extra) in [("plotted", None), ("bare", Some("--no-plot"))] {
        let out = dir.path().join(out);
        let mut args = vec![
            "run",
            "--workloads",
            "fmult,fdotprod",
            "--sizes",
            "fdotprod=10,20",
            "--strategies",
            "tape",
            "--repeat",
            "2",
            "--min-time",
            "0.001",
            "--warmup",
            "0",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let output = plot_ok(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if extra.is_none() {
            let index = std::fs::read_to_string(out.join("index.html")).unwrap();
            assert!(index.contains("<h2 id=\"claims\">Claims</h2>"), "{index}");
            assert!(index.contains("<td class=\"verdict "), "{index}");
            assert!(out.join("figures/cost-fdotprod.svg").is_file());
            assert!(
                stderr.contains(&format!("report: {}", out.join("index.html").display())),
                "{stderr}"
            );
        } else {
            assert!(!out.join("index.html").exists() && !out.join("figures").exists());
        }
    }
}

#[test]
fn impossible_values_and_failed_workloads_are_notes_not_drawings() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    let mut rows = common::rows();
    // A sized workload whose every case timed out: no panel of its own.
    rows.push(common::failed("lse", 1000, "dualrev", Status::Timeout));
    for r in rows.iter_mut() {
        if r.workload == "fdotprod" && r.strategy == "dualrev" && r.size == Some(100) {
            r.median_ns = Some(0.0);
        }
        if r.workload == "fdotprod" && r.strategy == "tape" && r.size == Some(1000) {
            r.overhead = Some(f64::INFINITY);
        }
    }
    rows.retain(|r| !(r.workload == "lse" && r.status == Status::Ok));
    common::write_rows(&results, rows);
    let out = plot_ok(&[
        "plot",
        "--images",
        "svg",
        "--results",
        results.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cost vs size of lse: not drawn — no case of it finished with a time"),
        "{stderr}"
    );
    assert!(!results.join("figures/cost-lse.svg").exists());
    let index = std::fs::read_to_string(results.join("index.html")).unwrap();
    assert!(
        index.contains("fdotprod / dualrev: size 100: median time 0 cannot be drawn on a log axis"),
        "{index}"
    );
    // The infinite overhead is left out of the bars; tape's other sizes are not affected.
    let overhead = svg_texts(&results.join("figures/overhead.svg"));
    assert!(
        overhead.iter().any(|t| t == "fdotprod n=1000"),
        "{overhead:?}"
    );
}

#[test]
fn parameter_sets_that_differ_only_in_late_digits_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    let rows = [(1.0001, 100.0), (1.0002, 300.0)]
        .into_iter()
        .flat_map(|(scale, ns)| {
            [10u64, 20, 40].map(|n| {
                let r = common::ok("lse", Some(n), "tape", ns * n as f64, 10.0, 64, &[]);
                common::with_param(r, "scale", scale)
            })
        })
        .collect();
    common::write_rows(&results, rows);
    plot_svg(&results);
    let names = names_in(&results.join("figures"));
    assert!(names.contains("cost-lse-scale-1_0001.svg"), "{names:?}");
    assert!(names.contains("cost-lse-scale-1_0002.svg"), "{names:?}");
    let md = std::fs::read_to_string(results.join("table.md")).unwrap();
    assert!(md.contains("| lse [scale=1.0001] | 40 | 4 µs"), "{md}");
    assert!(md.contains("| lse [scale=1.0002] | 40 | 12 µs"), "{md}");
}

#[test]
fn the_default_reference_is_a_plotted_strategy_and_a_repeated_case_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("run");
    common::write(&results);
    let out = dir.path().join("out");
    plot_ok(&[
        "plot",
        "--quiet",
        "--images",
        "svg",
        "--results",
        results.to_str().unwrap(),
        "--strategies",
        "naive,dualrev",
        "--out",
        out.to_str().unwrap(),
    ]);
    let md = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(md.contains("ratio to naive"), "{md}");
    assert!(
        md.contains("| fdotprod | 1000 | 1 ms [0.95, 1.05] 1× | 20 µs [19, 21] 0.02× |"),
        "{md}"
    );

    let twice = dir.path().join("twice");
    let mut rows = common::rows();
    rows.push(rows[0].clone());
    common::write_rows(&twice, rows);
    let e = plot_fails(&["plot", "--results", twice.to_str().unwrap()]);
    assert!(e.contains("appears twice"), "{e}");
}
