//! How many CPU threads inference uses: the CPUs this process may use, unless overridden.
//!
//! Owns the default ([`default_threads`]) and its resolution against an explicit setting
//! ([`EngineConfig::resolved_threads`]). The override itself (`--threads`, the
//! `BEDROCK_LOCAL_THREADS` variable, the config file's `threads`) is parsed by the CLI and
//! arrives as [`EngineConfig::threads`]; this crate reads no environment for it.
//!
//! The default is [`std::thread::available_parallelism`], which on Linux is already the
//! number of CPUs this process may use, so we add no cgroup parsing of our own. As implemented
//! in std (`library/std/src/sys/thread/unix.rs`, function `available_parallelism` and its
//! `cgroups` module), it takes:
//! - the CPUs in the calling thread's affinity mask (`sched_getaffinity`), which covers
//!   `taskset`, `docker --cpuset-cpus` and cgroup cpusets;
//! - capped by the CPU bandwidth quota of the process's cgroup and of every ancestor cgroup:
//!   `cpu.max` for cgroup v2 (under `/sys/fs/cgroup`), `cpu.cfs_quota_us / cpu.cfs_period_us`
//!   for cgroup v1 (`/sys/fs/cgroup/cpu`, `/sys/fs/cgroup/cpu,cpuacct`, else found in
//!   `/proc/self/mountinfo`), which covers `docker --cpus` and Kubernetes CPU limits;
//! - the quota divided in integers, so a fractional quota rounds down (`--cpus 2.5` gives 2),
//!   and clamped to at least 1 (`--cpus 0.5` gives 1).
//!
//! Its documented limits: a cgroup v2 hierarchy mounted elsewhere than `/sys/fs/cgroup` is not
//! seen, and if the affinity mask or the cgroup files cannot be read (a sandbox), it may
//! overcount. The value is recomputed on every call (limits may change at run time), so call it
//! at start-up, not per token. An error (unknown platform) falls back to 1 thread.

use crate::EngineConfig;

/// The number of CPUs this process may use (affinity mask capped by cgroup v1/v2 quota,
/// a fractional quota rounded down), at least 1. See the module docs for what std reads.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

impl EngineConfig {
    /// The thread count the engine runs with: [`EngineConfig::threads`] when set to a
    /// positive number, else [`default_threads`].
    pub fn resolved_threads(&self) -> usize {
        self.threads
            .filter(|n| *n > 0)
            .unwrap_or_else(default_threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_at_least_one() {
        assert!(default_threads() >= 1);
        let config = EngineConfig::default();
        assert_eq!(config.threads, None);
        assert_eq!(config.resolved_threads(), default_threads());
    }

    #[test]
    fn override_wins() {
        for n in [1, 3, 64] {
            let config = EngineConfig {
                threads: Some(n),
                ..EngineConfig::default()
            };
            assert_eq!(config.resolved_threads(), n);
        }
        // 0 means "not set", as in the CLI.
        let zero = EngineConfig {
            threads: Some(0),
            ..EngineConfig::default()
        };
        assert_eq!(zero.resolved_threads(), default_threads());
    }

    /// Runs [`child_reports_its_threads`] again in a child process pinned to CPU 0 with
    /// `taskset`, which must then see exactly one CPU. Skipped where taskset is missing.
    #[test]
    fn affinity_of_one_cpu_gives_one_thread() {
        let taskset = ["/usr/bin/taskset", "/bin/taskset"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(taskset) = taskset else {
            println!("skipped: taskset is not installed");
            return;
        };
        let exe = std::env::current_exe().expect("test binary path");
        let out = std::process::Command::new(taskset)
            .args(["-c", "0"])
            .arg(exe)
            .args([
                "--exact",
                "threads::tests::child_reports_its_threads",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BEDROCK_LOCAL_THREADS_CHILD", "1")
            .output()
            .expect("run the test binary under taskset");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {stdout}");
        assert!(
            stdout.contains("default_threads=1\n"),
            "child output: {stdout}"
        );
    }

    /// Prints what the process sees; only meaningful as the child of the test above.
    #[test]
    fn child_reports_its_threads() {
        if std::env::var_os("BEDROCK_LOCAL_THREADS_CHILD").is_none() {
            return;
        }
        println!("default_threads={}", default_threads());
    }
}
