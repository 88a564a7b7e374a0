//! Which SIMD level the kernels run at: detected once per process, overridable by the
//! `BEDROCK_LOCAL_KERNELS` environment variable (`scalar`, `avx2` or `avx512`) for tests and
//! benchmarks. An override asking for more than the CPU has falls back to the best level
//! available, so a forced level can never execute an unsupported instruction.

use std::sync::OnceLock;

/// A kernel implementation level. Every level computes the same bits (see the module docs of
/// [`super`]); the level only changes speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Portable Rust, any architecture: the canonical definition of every result.
    Scalar,
    /// x86-64 with AVX2, FMA and F16C.
    Avx2,
    /// x86-64 with AVX-512 F/BW/VL and VNNI (plus everything `Avx2` needs).
    Avx512,
}

impl Level {
    /// The lowercase name used by `BEDROCK_LOCAL_KERNELS`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The best level this CPU supports (ignoring the environment).
pub fn detected() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

/// The level the kernels use: `BEDROCK_LOCAL_KERNELS` if set and supported (capped at
/// [`detected`]), else [`detected`]. Read once per process.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let best = detected();
        let asked = std::env::var("BEDROCK_LOCAL_KERNELS").ok();
        let chosen = match asked.as_deref().map(str::trim) {
            None | Some("") => best,
            Some(name) => match parse(name) {
                Some(l) => l.min(best),
                None => {
                    tracing::warn!(
                        value = name,
                        "BEDROCK_LOCAL_KERNELS: unknown level, using {}",
                        best.name()
                    );
                    best
                }
            },
        };
        tracing::debug!(
            level = chosen.name(),
            detected = best.name(),
            "kernel level"
        );
        chosen
    })
}

/// Every level this CPU can run, lowest first (for tests and benchmarks).
pub fn available() -> Vec<Level> {
    [Level::Scalar, Level::Avx2, Level::Avx512]
        .into_iter()
        .filter(|l| *l <= detected())
        .collect()
}

fn parse(name: &str) -> Option<Level> {
    match name.to_ascii_lowercase().as_str() {
        "scalar" => Some(Level::Scalar),
        "avx2" => Some(Level::Avx2),
        "avx512" => Some(Level::Avx512),
        _ => None,
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Level {
    let avx2 = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c");
    let avx512 = avx2
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vnni");
    if avx512 {
        Level::Avx512
    } else if avx2 {
        Level::Avx2
    } else {
        Level::Scalar
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Level {
    Level::Scalar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!(parse("AVX2"), Some(Level::Avx2));
        assert_eq!(parse("scalar"), Some(Level::Scalar));
        assert_eq!(parse("avx512"), Some(Level::Avx512));
        assert_eq!(parse("sse"), None);
        assert!(available().contains(&Level::Scalar));
        assert!(level() <= detected());
    }
}
