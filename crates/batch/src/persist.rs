//! Job state on disk: `<dir>/<jobId>/job.json` (written atomically: temp file, sync, rename)
//! and `<dir>/<jobId>/spool/<n>.jsonl`, the finished records of input file `n`, one synced
//! line each. A torn last line (killed mid-write) is cut off when the spool is read back.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::BatchError;
use crate::job::Job;
use crate::record::SpoolEntry;

/// The batch directory.
#[derive(Debug, Clone)]
pub struct JobStore {
    dir: PathBuf,
}

impl JobStore {
    /// Uses (and creates) `dir`.
    pub fn open(dir: PathBuf) -> Result<Self, BatchError> {
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn job_dir(&self, job_id: &str) -> PathBuf {
        self.dir.join(job_id)
    }

    /// Writes `job.json` atomically.
    pub fn save(&self, job: &Job) -> Result<(), BatchError> {
        let dir = self.job_dir(&job.job_id);
        fs::create_dir_all(&dir)?;
        let tmp = dir.join("job.json.tmp");
        {
            let mut file = File::create(&tmp)?;
            file.write_all(&serde_json::to_vec_pretty(job)?)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, dir.join("job.json"))?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Every job on disk; unreadable ones are logged and skipped.
    pub fn load_all(&self) -> Result<Vec<Job>, BatchError> {
        let mut jobs = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path().join("job.json");
            if !path.is_file() {
                continue;
            }
            match fs::read(&path)
                .map_err(BatchError::from)
                .and_then(|b| serde_json::from_slice::<Job>(&b).map_err(BatchError::from))
            {
                Ok(job) => jobs.push(job),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping unreadable batch job")
                }
            }
        }
        Ok(jobs)
    }

    /// The spool of input file `index` of a job.
    pub fn spool_path(&self, job_id: &str, index: usize) -> PathBuf {
        self.job_dir(job_id)
            .join("spool")
            .join(format!("{index}.jsonl"))
    }
}

/// Reads a spool back, cutting off a torn last line so appends continue after the last
/// complete record. A missing spool is empty.
pub fn read_spool(path: &Path) -> Result<Vec<SpoolEntry>, BatchError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut entries = Vec::new();
    let mut good_len = 0usize;
    let mut start = 0usize;
    while let Some(pos) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = &bytes[start..start + pos];
        match serde_json::from_slice::<SpoolEntry>(line) {
            Ok(entry) => entries.push(entry),
            Err(_) => break,
        }
        start += pos + 1;
        good_len = start;
    }
    if good_len < bytes.len() {
        tracing::warn!(path = %path.display(), kept = entries.len(), "cutting a torn spool line");
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(good_len as u64)?;
        file.sync_all()?;
    }
    Ok(entries)
}

/// Appends one entry and syncs it to disk.
pub fn append_spool(path: &Path, entry: &SpoolEntry) -> Result<(), BatchError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut line = serde_json::to_vec(entry)?;
    line.push(b'\n');
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(&line)?;
    file.sync_data()?;
    Ok(())
}

/// The `.out` object body: the output lines of a spool.
pub fn out_body(entries: &[SpoolEntry]) -> Vec<u8> {
    let mut body = Vec::new();
    for entry in entries {
        body.extend_from_slice(entry.line.to_string().as_bytes());
        body.push(b'\n');
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(i: u64) -> SpoolEntry {
        SpoolEntry {
            ok: i.is_multiple_of(2),
            input_tokens: i,
            output_tokens: 1,
            line: json!({"recordId": i.to_string()}),
        }
    }

    #[test]
    fn torn_spool_lines_are_cut_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool").join("0.jsonl");
        append_spool(&path, &entry(0)).unwrap();
        append_spool(&path, &entry(1)).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"ok\":tr").unwrap();
        drop(f);
        assert_eq!(read_spool(&path).unwrap(), vec![entry(0), entry(1)]);
        append_spool(&path, &entry(2)).unwrap();
        assert_eq!(
            read_spool(&path).unwrap(),
            vec![entry(0), entry(1), entry(2)]
        );
        assert_eq!(
            String::from_utf8(out_body(&read_spool(&path).unwrap())).unwrap(),
            "{\"recordId\":\"0\"}\n{\"recordId\":\"1\"}\n{\"recordId\":\"2\"}\n"
        );
        assert!(read_spool(&dir.path().join("missing")).unwrap().is_empty());
    }
}
