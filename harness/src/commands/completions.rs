//! `dualbench completions SHELL`: print a completion script for SHELL, generated from the same
//! clap definition as the parser ([`crate::cli::visible_command`]: without the hidden
//! commands), so it never drifts from the flags.

use clap_complete::Shell;

use crate::cli;
use crate::error::{Error, Outcome, Result};
use crate::output;

/// Arguments of `dualbench completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Install (the script goes to stdout):
  bash  dualbench completions bash > ~/.local/share/bash-completion/completions/dualbench
  zsh   dualbench completions zsh > ~/.zfunc/_dualbench   (with fpath+=~/.zfunc before compinit)
  fish  dualbench completions fish > ~/.config/fish/completions/dualbench.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Result<String> {
    let mut command = cli::visible_command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut command, "dualbench", &mut bytes);
    String::from_utf8(bytes)
        .map_err(|e| Error::usage(format!("the {shell} completion script is not UTF-8: {e}")))
}

/// Run `dualbench completions`.
pub fn execute(args: CompletionsArgs) -> Result<Outcome> {
    output::print(&script(args.shell)?)?;
    Ok(Outcome::Success)
}
