//! What a result was measured on: the machine fingerprint and the build.
//!
//! The fingerprint names the hardware and OS (CPU model, logical cores, memory, OS, arch) and
//! never the host: result files are meant to be committed and shared. It is read from Linux's
//! `/proc` and `/etc/os-release`; on other systems a field it cannot read is `"unknown"` (or 0),
//! which keeps results comparable between runs on the same kind of system.

use serde::{Deserialize, Serialize};

/// The hardware and OS a result was measured on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU model name, e.g. `AMD EPYC 7B13`.
    pub cpu_model: String,
    /// Logical cores available to the process.
    pub cores: u64,
    /// Physical memory in bytes (0 when unknown).
    pub memory_bytes: u64,
    /// The OS and its version, e.g. `Debian GNU/Linux 13 (trixie)`.
    pub os: String,
    /// The CPU architecture, e.g. `x86_64`.
    pub arch: String,
}

impl Machine {
    /// The machine this process runs on.
    pub fn current() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        Machine {
            cpu_model: field(&cpuinfo, "model name", ':')
                .map(str::to_string)
                .unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get() as u64),
            memory_bytes: field(&meminfo, "MemTotal", ':')
                .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or(0, |kib| kib * 1024),
            os: field(&os_release, "PRETTY_NAME", '=')
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_else(|| std::env::consts::OS.to_string()),
            arch: std::env::consts::ARCH.to_string(),
        }
    }

    /// A one-line description for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} cores, {:.1} GiB, {}, {})",
            self.cpu_model,
            self.cores,
            self.memory_bytes as f64 / f64::from(1u32 << 30),
            self.os,
            self.arch
        )
    }
}

/// The value of the first `key<sep>value` line of `text`, trimmed.
fn field<'a>(text: &'a str, key: &str, sep: char) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(sep)?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// The build that produced a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The `dualbench` package version.
    pub dualbench_version: String,
    /// The git commit the binary was built from, when it was built inside a git checkout.
    pub git_commit: Option<String>,
    /// `rustc --version` of the compiler that built the binary.
    pub rustc_version: String,
    /// The cargo profile (`release` for publishable numbers, `debug` otherwise).
    pub profile: String,
}

impl Build {
    /// This binary's build, as captured by `build.rs`.
    pub fn current() -> Build {
        Build {
            dualbench_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("DUALBENCH_GIT_COMMIT")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            rustc_version: env!("DUALBENCH_RUSTC_VERSION").to_string(),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_key_value_lines() {
        let text = "processor\t: 0\nmodel name\t: Example CPU @ 2GHz\nflags : x\n";
        assert_eq!(field(text, "model name", ':'), Some("Example CPU @ 2GHz"));
        assert_eq!(field("NAME=\"Debian\"\n", "NAME", '='), Some("\"Debian\""));
        assert_eq!(field(text, "missing", ':'), None);
    }

    #[test]
    fn current_machine_names_no_host() {
        let m = Machine::current();
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let host = host.trim();
        let json = serde_json::to_string(&m).unwrap();
        assert!(host.len() < 6 || !json.contains(host), "{json}");
        assert!(m.cores >= 1);
    }
}
