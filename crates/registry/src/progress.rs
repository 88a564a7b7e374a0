//! Download progress: a tiny trait the store reports to, a bar for terminals, log lines otherwise.
//!
//! The store calls `start` once per transfer (a download, an extraction, a hash), `advance` as
//! bytes go by, and `finish` at the end, whatever the outcome.

use std::io::IsTerminal;
use std::sync::Mutex;

/// Receives progress of one transfer at a time.
pub trait Progress: Send + Sync {
    /// A transfer begins. `total` is its size in bytes when known.
    fn start(&self, label: &str, total: Option<u64>);
    /// `n` more bytes are done.
    fn advance(&self, n: u64);
    /// The transfer ended (successfully or not).
    fn finish(&self);
}

/// Ignores progress (tests, library users that do not care).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

#[derive(Debug, Default)]
struct LogState {
    label: String,
    total: Option<u64>,
    done: u64,
    /// Next reported tenth (1..=10) or, without a total, next 100 MB step.
    next_mark: u64,
    /// Small transfers (under [`QUIET_BELOW`]) log nothing at info level.
    quiet: bool,
}

/// Progress as `tracing` info lines, about every 10% (every 100 MB when the size is unknown).
/// Transfers under 16 MB only log at debug level. For servers and non-terminal stderr.
#[derive(Debug, Default)]
pub struct LogProgress {
    state: Mutex<LogState>,
}

impl LogProgress {
    /// A fresh reporter.
    pub fn new() -> Self {
        Self::default()
    }
}

const QUIET_BELOW: u64 = 16_000_000;
const STEP: u64 = 100_000_000;

/// `253.1 MB`.
fn human(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl Progress for LogProgress {
    fn start(&self, label: &str, total: Option<u64>) {
        let quiet = total.is_some_and(|t| t < QUIET_BELOW);
        if let Ok(mut s) = self.state.lock() {
            *s = LogState {
                label: label.to_string(),
                total,
                done: 0,
                next_mark: 1,
                quiet,
            };
        }
        match total {
            Some(t) if quiet => {
                tracing::debug!(target: "bedrock_local::pull", "{label} ({})", human(t))
            }
            Some(t) => tracing::info!(target: "bedrock_local::pull", "{label} ({})", human(t)),
            None => tracing::info!(target: "bedrock_local::pull", "{label}"),
        }
    }

    fn advance(&self, n: u64) {
        let Ok(mut s) = self.state.lock() else { return };
        s.done += n;
        if s.quiet {
            return;
        }
        match s.total {
            Some(total) if total > 0 => {
                let tenths = (s.done.saturating_mul(10) / total).min(10);
                if tenths >= s.next_mark && tenths < 10 {
                    s.next_mark = tenths + 1;
                    tracing::info!(
                        target: "bedrock_local::pull",
                        "{}: {}% ({} of {})",
                        s.label,
                        tenths * 10,
                        human(s.done),
                        human(total)
                    );
                }
            }
            _ => {
                let steps = s.done / STEP;
                if steps >= s.next_mark {
                    s.next_mark = steps + 1;
                    tracing::info!(target: "bedrock_local::pull", "{}: {}", s.label, human(s.done));
                }
            }
        }
    }

    fn finish(&self) {
        if let Ok(s) = self.state.lock() {
            if s.quiet {
                tracing::debug!(target: "bedrock_local::pull", "{}: done", s.label);
            } else {
                tracing::info!(target: "bedrock_local::pull", "{}: done ({})", s.label, human(s.done));
            }
        }
    }
}

/// An indicatif progress bar on stderr, one bar per transfer.
#[derive(Debug, Default)]
pub struct BarProgress {
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl BarProgress {
    /// A fresh bar reporter.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Progress for BarProgress {
    fn start(&self, label: &str, total: Option<u64>) {
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        let template = if total.is_some() {
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{msg} {spinner} {bytes} {bytes_per_sec}"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(n);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish();
            }
        }
    }
}

/// A bar when stderr is a terminal, log lines otherwise.
pub fn progress_for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(BarProgress::new())
    } else {
        Box::new(LogProgress::new())
    }
}
