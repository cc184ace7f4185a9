//! `dualbench merge` on bad inputs: each is refused with exit 2 and a message that names the
//! input and what to give, before `--out` is created or touched.

mod common;

use common::dualbench;

/// Run `merge` with `inputs` into `out`, expecting exit 2 and no `out`: the message.
fn refused(inputs: &[&std::path::Path], out: &std::path::Path) -> String {
    let mut args = vec!["merge".to_string()];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap().to_string()));
    args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = dualbench(&args);
    let stderr = String::from_utf8_lossy(&result.stderr).to_string();
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(!out.exists(), "a refused merge leaves no --out: {stderr}");
    stderr
}

/// Issue 20: a CSV given to `merge` failed with "expected value at line 1 column 1"; a case
/// twice in one input was merged.
#[test]
fn a_csv_a_case_twice_or_a_folder_without_results_is_refused_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    common::write_rows(&a, common::rows()[..10].to_vec());
    let out = dir.path().join("merged");

    let e = refused(&[&a.join("results.csv")], &out);
    assert!(
        e.contains("results.csv is a results CSV")
            && e.contains("lacks the metadata")
            && e.contains("the results.json beside it"),
        "{e}"
    );

    let twice = dir.path().join("twice");
    let mut rows = common::rows()[10..20].to_vec();
    rows.push(rows[3].clone());
    common::write_rows(&twice, rows);
    let e = refused(&[&a, &twice], &out);
    assert!(
        e.contains("twice/results.json: the case")
            && e.contains("appears twice, in row 4 and row 11"),
        "{e}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = refused(&[&a, &empty], &out);
    assert!(e.contains("holds no results.json"), "{e}");
    std::fs::write(empty.join("results.json"), "").unwrap();
    let e = refused(&[&a, &empty], &out);
    assert!(e.contains("results.json: is empty"), "{e}");
    std::fs::write(empty.join("results.json"), "[]").unwrap();
    let e = refused(&[&a, &empty], &out);
    assert!(e.contains("results.json: holds a JSON array"), "{e}");
}
