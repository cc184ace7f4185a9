//! What a result was measured on: the machine fingerprint and the build.
//!
//! The fingerprint names the hardware and OS (CPU model, logical cores, memory, OS, arch) and
//! never the host: result files are meant to be committed and shared. It is read through
//! `sysinfo`, so it is right on Linux, macOS and Windows; inside a container whose memory is
//! capped by its cgroup, `memory_bytes` is the cap (what a case can actually use), and `cores`
//! counts the cores this process may run on.

use std::hash::Hasher;
use std::io::Read;

use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// The hardware and OS a result was measured on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU model name, e.g. `AMD EPYC 7B13`.
    pub cpu_model: String,
    /// Logical cores available to the process.
    pub cores: u64,
    /// Memory available to the process in bytes: the physical memory, or the container's cap
    /// when that is smaller (0 only when the system reports neither).
    pub memory_bytes: u64,
    /// The OS and its version, e.g. `Linux (Debian GNU/Linux 12)`.
    pub os: String,
    /// The CPU architecture, e.g. `x86_64`.
    pub arch: String,
}

impl Machine {
    /// The machine this process runs on.
    pub fn current() -> Machine {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let cpu_model = system
            .cpus()
            .first()
            .map(|cpu| cpu.brand().trim().to_string())
            .filter(|brand| !brand.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let physical = system.total_memory();
        let memory_bytes = match system.cgroup_limits() {
            Some(limits) if limits.total_memory > 0 && limits.total_memory < physical => {
                limits.total_memory
            }
            _ => physical,
        };
        Machine {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get() as u64),
            memory_bytes,
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_string()),
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

/// The build that produced a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The `dualbench` package version.
    pub dualbench_version: String,
    /// The git commit the binary was built from, when it was built inside a git checkout.
    pub git_commit: Option<String>,
    /// Whether tracked files of that checkout differed from the commit when the binary was
    /// built (`None` outside a checkout): numbers from a dirty build are not the commit's.
    pub git_dirty: Option<bool>,
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
            git_dirty: match option_env!("DUALBENCH_GIT_DIRTY") {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            },
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

/// FNV-1a (64-bit) hash of this process's executable, in hex: identifies the exact binary
/// (two builds of one dirty tree differ), which `run --resume` requires to be unchanged.
pub fn binary_hash() -> std::io::Result<String> {
    let mut file = std::fs::File::open(std::env::current_exe()?)?;
    let mut hasher = fnv::FnvHasher::default();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.write(&buffer[..read]);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_fingerprint_knows_the_memory_and_names_no_host() {
        let m = Machine::current();
        assert!(m.cores >= 1);
        assert!(m.memory_bytes > 1 << 28, "{m:?}");
        assert_ne!(m.cpu_model, "unknown");
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let host = host.trim();
        let json = serde_json::to_string(&m).unwrap();
        assert!(host.len() < 6 || !json.contains(host), "{json}");
    }

    #[test]
    fn provenance_records_whether_the_tree_was_dirty() {
        // Built inside the repository's checkout, the build knows its commit and its state.
        let build = Build::current();
        if build.git_commit.is_some() {
            assert!(build.git_dirty.is_some(), "{build:?}");
        }
    }

    #[test]
    fn the_binary_hash_is_stable() {
        let a = binary_hash().unwrap();
        assert_eq!(a.len(), 16);
        assert_eq!(a, binary_hash().unwrap());
    }
}
