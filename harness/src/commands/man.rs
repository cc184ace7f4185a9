//! `dualbench man`: the man pages, generated from the same clap definition as the parser
//! ([`crate::cli::command`]): `dualbench.1` on stdout, or with `--out DIR` one page per
//! visible command (`dualbench.1`, `dualbench-run.1`, ...) written into DIR.

use std::path::{Path, PathBuf};

use clap_mangen::Man;

use crate::cli::{self, args};
use crate::error::{Error, Outcome, Result};
use crate::output;

/// Arguments of `dualbench man`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Read without installing: dualbench man | man -l -
Install: dualbench man --out ~/.local/share/man/man1 (then `man dualbench-run`)")]
pub struct ManArgs {
    /// Write dualbench.1 and one page per command (dualbench-run.1, ...) into DIR, creating
    /// it, and replacing the pages already there; without it, print dualbench.1 on stdout.
    #[arg(long, value_name = "DIR", value_parser = args::path)]
    pub out: Option<PathBuf>,
}

/// One man page: its file name and its roff text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// `dualbench.1`, `dualbench-run.1`, ...
    pub file_name: String,
    /// The page in roff.
    pub text: String,
}

/// The pages of `dualbench` and of each of its visible commands (hidden ones have none).
pub fn pages() -> Result<Vec<Page>> {
    let mut root = cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = vec![page(root.clone())?];
    for sub in root.get_subcommands().filter(|c| !c.is_hide_set()) {
        pages.push(page(sub.clone())?);
    }
    Ok(pages)
}

fn page(command: clap::Command) -> Result<Page> {
    let man = Man::new(command).source(concat!("dualbench ", env!("CARGO_PKG_VERSION")));
    let mut bytes = Vec::new();
    man.render(&mut bytes).map_err(|source| Error::Io {
        context: format!("rendering the man page {}", man.get_filename()),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::usage(format!(
            "the man page {} is not UTF-8: {e}",
            man.get_filename()
        ))
    })?;
    Ok(Page {
        file_name: man.get_filename(),
        text,
    })
}

/// Write every page into `dir` (created if needed); the paths written.
pub fn write_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        context: format!("man --out: creating the directory `{}`", dir.display()),
        source,
    })?;
    let mut written = Vec::new();
    for page in pages()? {
        let path = dir.join(&page.file_name);
        std::fs::write(&path, &page.text).map_err(|source| Error::Io {
            context: format!("man --out: writing `{}`", path.display()),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Run `dualbench man`.
pub fn execute(args: ManArgs) -> Result<Outcome> {
    match &args.out {
        None => {
            let root = pages()?.swap_remove(0);
            output::print(&root.text)?;
        }
        Some(dir) => {
            let written = write_pages(dir)?;
            output::note(&format!(
                "man: wrote {} pages into {}",
                written.len(),
                dir.display()
            ));
        }
    }
    Ok(Outcome::Success)
}
