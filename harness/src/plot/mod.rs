//! `dualbench plot`: the paper's figures, its table and a one-page report, drawn from results
//! files alone — nothing is measured again.
//!
//! The pipeline, one module per step:
//!
//! 1. [`dataset`]: the results files read and combined (duplicate cases refused), filtered
//!    to the requested workloads and strategies.
//! 2. [`figures`]: which figures the rows support, each as data ([`panel`]'s line panels and
//!    bar charts), with its caption and the claim it illustrates; a figure without rows is a
//!    note, never an empty image.
//! 3. [`render`]: each figure drawn as SVG and PNG ([`style`]: one colour and marker per
//!    strategy everywhere, the bundled font) and written atomically.
//! 4. [`table`]: the paper-style table as Markdown and LaTeX.
//! 5. [`html`]: `index.html`, with the verdicts of the claims (decided by [`crate::check`] on
//!    the same rows): those of `--claims FILE`, else those of the `claims.toml` built into
//!    this dualbench ([`BUILT_IN_CLAIMS`]), so that the report `dualbench run` draws has them.
//!
//! [`layout`] sizes the space beside each plot from its tick labels' measured extents.
//!
//! The output folder holds `index.html`, `table.md`, `table.tex` and `figures/`. `figures/` is
//! plot's own: image files in it that this plot did not write (from an earlier plot of other
//! data) are removed, and named in the report, so the folder always matches its page.

pub mod dataset;
pub mod figures;
pub mod html;
pub mod layout;
pub mod panel;
pub mod render;
pub mod style;
pub mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::check::claims::ClaimsFile;
use crate::check::observation::Observation;
use crate::check::{check_claims, judge, Source};
use crate::error::{Error, Result};
use crate::results::write_atomically;
use dataset::Dataset;
use render::Figure as _;
pub use render::ImageFormat;

/// The folder under the output directory that holds the images.
pub const FIGURES_DIR: &str = "figures";
/// The report's file name.
pub const INDEX_FILE: &str = "index.html";

/// The repository's `claims.toml`, built into the binary: the claims the report shows when no
/// claims file is given (a run's report, drawn wherever the run was started).
pub const BUILT_IN_CLAIMS: &str = include_str!("../../../claims.toml");

/// What the report calls the built-in claims.
fn built_in_claims_name() -> String {
    format!(
        "claims.toml (built into dualbench {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// What `plot` was asked to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Results directories or files.
    pub results: Vec<PathBuf>,
    /// The output folder (default: the first results directory, or the folder of the first
    /// results file).
    pub out: Option<PathBuf>,
    /// Image formats (at least one).
    pub images: Vec<ImageFormat>,
    /// The strategy the table's ratios are taken against (default: `tape` when plotted, else
    /// the first plotted strategy besides `primal`).
    pub reference: Option<String>,
    /// A claims file whose verdicts on these rows go into the report (`None`: the built-in
    /// claims, [`BUILT_IN_CLAIMS`]).
    pub claims: Option<PathBuf>,
    /// Only these workloads (all when empty).
    pub workloads: Vec<String>,
    /// Only these strategies (all when empty).
    pub strategies: Vec<String>,
    /// `workload=size,...` choices for the table.
    pub table_sizes: Vec<String>,
}

impl Request {
    /// A request for `results` with every default.
    pub fn new(results: Vec<PathBuf>) -> Request {
        Request {
            results,
            out: None,
            images: vec![ImageFormat::Svg, ImageFormat::Png],
            reference: None,
            claims: None,
            workloads: Vec::new(),
            strategies: Vec::new(),
            table_sizes: Vec::new(),
        }
    }
}

/// What `plot` wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The output folder.
    pub out: PathBuf,
    /// `index.html`.
    pub index: PathBuf,
    /// Every image file written.
    pub images: Vec<PathBuf>,
    /// How many figures (each in every format).
    pub figures: usize,
    /// Figures not drawn, and why.
    pub missing: Vec<String>,
    /// Stale images removed from `figures/`.
    pub removed: Vec<PathBuf>,
}

fn names(list: &[String]) -> Option<BTreeSet<String>> {
    let set: BTreeSet<String> = list
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!set.is_empty()).then_some(set)
}

/// Check that every requested name occurs in `present`.
fn check_selected(
    flag: &str,
    wanted: &Option<BTreeSet<String>>,
    present: &BTreeSet<String>,
) -> Result<()> {
    if let Some(wanted) = wanted {
        if let Some(missing) = wanted.iter().find(|w| !present.contains(*w)) {
            return Err(Error::usage(format!(
                "{flag} `{missing}`: no rows of that name in the results; present: {}",
                present.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

/// `tape` when it is plotted, else the first plotted strategy besides `primal`, else `primal`.
fn default_reference(plotted: &[String]) -> String {
    plotted
        .iter()
        .find(|s| *s == "tape")
        .or_else(|| plotted.iter().find(|s| *s != "primal"))
        .or_else(|| plotted.first())
        .cloned()
        .unwrap_or_else(|| "primal".into())
}

/// The default output folder of `results`: the first path if a directory, else its folder.
fn default_out(results: &[PathBuf]) -> PathBuf {
    let first = &results[0];
    if first.is_dir() {
        first.clone()
    } else {
        first
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// Draw everything `request` asks for.
pub fn run(request: &Request) -> Result<Outcome> {
    if request.images.is_empty() {
        return Err(Error::usage("--images: name at least one of svg, png"));
    }
    let mut data = Dataset::load(&request.results)?;
    let workloads = names(&request.workloads);
    let strategies = names(&request.strategies);
    let present_w: BTreeSet<String> = data.rows.iter().map(|r| r.workload.clone()).collect();
    let present_s: BTreeSet<String> = data.rows.iter().map(|r| r.strategy.clone()).collect();
    check_selected("--workloads", &workloads, &present_w)?;
    check_selected("--strategies", &strategies, &present_s)?;
    data.retain(workloads.as_ref(), strategies.as_ref());
    if data.rows.is_empty() {
        return Err(Error::usage(format!(
            "{}: the results hold no rows{}",
            request
                .results
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if workloads.is_some() || strategies.is_some() {
                " of the selected workloads and strategies"
            } else {
                ""
            }
        )));
    }
    let plotted: Vec<String> = Dataset::strategies_in(data.rows.iter());
    let reference = match &request.reference {
        Some(r) if plotted.contains(r) => r.clone(),
        Some(r) => {
            return Err(Error::usage(format!(
                "--reference `{r}`: no rows of that strategy among the plotted ones; \
                 present: {}",
                plotted.join(", ")
            )))
        }
        None => default_reference(&plotted),
    };
    let sizes: BTreeMap<String, BTreeSet<u64>> = table::parse_sizes(&request.table_sizes)?;
    let table = table::build(&data, &reference, &sizes)?;
    let (claims_name, claims_file) = match &request.claims {
        Some(path) => (path.display().to_string(), ClaimsFile::read(path)?),
        None => {
            let name = built_in_claims_name();
            let file = ClaimsFile::parse(BUILT_IN_CLAIMS, &name)
                .map_err(|e| Error::usage(e.to_string()))?;
            (name, file)
        }
    };
    check_claims(&claims_file, &claims_name, &data.rows)?;
    let observations: Vec<Observation> = data.rows.iter().map(Observation::from).collect();
    let claims_report = judge(
        &claims_file,
        &observations,
        Source::Results,
        |_| None,
        "the plotted results".into(),
    );
    let confidence = data
        .sources
        .iter()
        .find_map(|s| s.metadata.as_ref().map(|m| m.ci_level))
        .unwrap_or(0.95);
    let (planned, missing) = figures::plan(&data, confidence);

    let out = request
        .out
        .clone()
        .unwrap_or_else(|| default_out(&request.results));
    let figures_dir = out.join(FIGURES_DIR);
    std::fs::create_dir_all(&figures_dir).map_err(|source| Error::Io {
        context: format!("creating {}", figures_dir.display()),
        source,
    })?;
    let mut images = Vec::new();
    let mut shown = Vec::new();
    let mut formats = request.images.clone();
    formats.sort();
    formats.dedup();
    for figure in planned {
        images.extend(render::write(
            &figure.drawing,
            &figures_dir,
            &figure.stem,
            &formats,
        )?);
        for (stem, part) in &figure.parts {
            images.extend(render::write(part, &figures_dir, stem, &formats)?);
        }
        let image = format!("{FIGURES_DIR}/{}.{}", figure.stem, formats[0].extension());
        let wide = figure.drawing.size().0 > figures::PANEL.0;
        shown.push((figure, image, wide));
    }
    let removed = remove_stale(&figures_dir, &images)?;
    let write_text = |name: &str, text: String| -> Result<()> {
        write_atomically(&out.join(name), |w| w.write_all(text.as_bytes()))
    };
    write_text("table.md", table.markdown())?;
    write_text("table.tex", table.latex())?;
    let page = html::Page {
        data: &data,
        figures: &shown,
        missing: &missing,
        table: &table,
        claims: (&claims_name, &claims_report),
        files: &["table.md".to_string(), "table.tex".to_string()],
    };
    let index = out.join(INDEX_FILE);
    write_text(INDEX_FILE, page.render())?;
    Ok(Outcome {
        out,
        index,
        figures: shown.len(),
        images,
        missing,
        removed,
    })
}

/// Remove the SVG and PNG files of `dir` that are not in `written`; the paths removed.
fn remove_stale(dir: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let keep: BTreeSet<&PathBuf> = written.iter().collect();
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        context: format!("reading {}", dir.display()),
        source,
    })?;
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let image = path.extension().is_some_and(|e| e == "svg" || e == "png");
        if image && !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|source| Error::Io {
                context: format!("removing the stale figure {}", path.display()),
                source,
            })?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_claims_are_a_valid_claims_file() {
        let file = ClaimsFile::parse(BUILT_IN_CLAIMS, &built_in_claims_name()).unwrap();
        assert!(!file.claims.is_empty());
        file.check_counters().unwrap();
        file.check_params().unwrap();
    }
}
