//! Where a result comes from. A [`Provenance`] names the build that made it
//! ([`Build`]: crate version, git commit and whether the tree was dirty,
//! rustc, target triple and enabled target features), the host (CPU model,
//! OS), the command line and the start time. Reports and model files carry
//! one, so that two results can be told apart when their numbers differ:
//! L = 32 runs are chaotic under last-bit changes, and `exp` comes from the
//! platform's libm.
//!
//! The build facts are known to the binary's build script, not to a
//! library: the binary captures them with [`build!`], whose expansion reads
//! the environment variables its own build script set
//! ([`emit_build_env`] writes them), and passes the [`Provenance`] on.
//!
//! ```
//! let p = provenance::Provenance::now(provenance::build!());
//! assert!(!p.started.is_empty() && !p.command.is_empty());
//! assert!(p.build.target.contains('-') || p.build.target == "unknown");
//! println!("{}", p.describe());
//! ```

use serde::{Deserialize, Serialize};

/// The build that made a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The crate version (`0.1.0`).
    pub version: String,
    /// The git commit the build was made from, if it was made in a git
    /// checkout.
    pub git_commit: Option<String>,
    /// Whether the checkout had changes not committed (tracked files), if
    /// known.
    pub git_dirty: Option<bool>,
    /// `rustc --version` of the compiler.
    pub rustc: Option<String>,
    /// The target triple (`x86_64-unknown-linux-gnu`).
    pub target: String,
    /// The enabled target features, comma-separated (`avx,avx2,fma,…`).
    pub target_features: String,
}

impl Build {
    /// A build nothing is known of but its version.
    pub fn unknown(version: &str) -> Self {
        Self {
            version: version.to_string(),
            git_commit: None,
            git_dirty: None,
            rustc: None,
            target: "unknown".into(),
            target_features: String::new(),
        }
    }

    /// `rnnstudy 0.1.0, commit 1a2b3c4d5e6f (dirty)`: the version and the
    /// commit, in short.
    pub fn short(&self) -> String {
        let commit = match (&self.git_commit, self.git_dirty) {
            (Some(c), Some(true)) => format!(", commit {} (dirty tree)", &c[..c.len().min(12)]),
            (Some(c), _) => format!(", commit {}", &c[..c.len().min(12)]),
            (None, _) => ", no git commit".into(),
        };
        format!("rnnstudy {}{commit}", self.version)
    }
}

/// Where a result comes from (see the crate docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The build.
    pub build: Build,
    /// The CPU model (`/proc/cpuinfo`'s model name, or the architecture).
    pub cpu: String,
    /// The operating system and kernel.
    pub os: String,
    /// The command line, one argument per entry.
    pub command: Vec<String>,
    /// When the process started its work, RFC 3339 in UTC.
    pub started: String,
}

impl Provenance {
    /// The provenance of this process now, made by `build`.
    pub fn now(build: Build) -> Self {
        Self {
            build,
            cpu: cpu_model(),
            os: os_name(),
            command: std::env::args().collect(),
            started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }

    /// One paragraph for a person.
    pub fn describe(&self) -> String {
        let b = &self.build;
        format!(
            "{}; {}; target {}{}; CPU {}; {}; started {}; command `{}`",
            b.short(),
            b.rustc.as_deref().unwrap_or("rustc unknown"),
            b.target,
            if b.target_features.is_empty() {
                String::new()
            } else {
                format!(" (features {})", b.target_features)
            },
            self.cpu,
            self.os,
            self.started,
            self.command.join(" ")
        )
    }
}

/// The build facts of the crate that expands it, from the environment
/// variables its build script set with [`emit_build_env`] (unknown ones are
/// `None`).
#[macro_export]
macro_rules! build {
    () => {
        $crate::Build {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("PROVENANCE_GIT_COMMIT")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            git_dirty: option_env!("PROVENANCE_GIT_DIRTY").and_then(|s| match s {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
            rustc: option_env!("PROVENANCE_RUSTC")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            target: option_env!("PROVENANCE_TARGET")
                .unwrap_or("unknown")
                .to_string(),
            target_features: option_env!("PROVENANCE_TARGET_FEATURES")
                .unwrap_or("")
                .to_string(),
        }
    };
}

/// For a binary's build script: prints the `cargo:rustc-env` lines that
/// [`build!`] reads — the git commit and dirty flag of the checkout at
/// `repo` (via `git`, if there is one), `rustc --version`, the target and
/// its enabled features — and asks cargo to run the script again when
/// `watch` (the sources) or git's state change.
pub fn emit_build_env(repo: &std::path::Path, watch: &[&std::path::Path]) {
    use std::process::Command;
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"]);
    let dirty = commit.as_ref().and_then(|_| {
        git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty())
    });
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let env = |k: &str, v: &str| println!("cargo:rustc-env={k}={v}");
    env("PROVENANCE_GIT_COMMIT", commit.as_deref().unwrap_or(""));
    env(
        "PROVENANCE_GIT_DIRTY",
        dirty.map_or("", |d| if d { "true" } else { "false" }),
    );
    env("PROVENANCE_RUSTC", rustc.as_deref().unwrap_or(""));
    env(
        "PROVENANCE_TARGET",
        &std::env::var("TARGET").unwrap_or_default(),
    );
    env(
        "PROVENANCE_TARGET_FEATURES",
        &std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default(),
    );
    for p in watch {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    for g in ["HEAD", "index", "refs"] {
        let p = repo.join(".git").join(g);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    match (pretty, kernel) {
        (Some(p), Some(k)) => format!("{p}, kernel {k}"),
        (Some(p), None) => p,
        (None, Some(k)) => format!("{} {k}", std::env::consts::OS),
        (None, None) => std::env::consts::OS.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dirty_tree_says_so() {
        let mut b = Build::unknown("0.1.0");
        b.git_commit = Some("0123456789abcdef0123".into());
        b.git_dirty = Some(true);
        assert_eq!(
            b.short(),
            "rnnstudy 0.1.0, commit 0123456789ab (dirty tree)"
        );
        b.git_dirty = Some(false);
        assert_eq!(b.short(), "rnnstudy 0.1.0, commit 0123456789ab");
        let p = Provenance::now(b);
        let back: Provenance = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert!(p.describe().contains("CPU "), "{}", p.describe());
    }
}
