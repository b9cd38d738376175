//! The listing floor: what reading a folder and inspecting every entry costs the kernel of
//! this machine, with no FTP, formatting or network: `getdents` for the names, then one
//! `statx` per entry (std's `DirEntry::metadata`, relative to the directory), on one thread
//! or split over several. No server can list the folder faster than the fastest of these.

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::json::Obj;

/// `repeat` passes over `dir` with `threads` stat threads; the median pass is the figure.
pub fn run(dir: &Path, threads: usize, repeat: usize) -> Result<Obj> {
    let mut times = Vec::new();
    let mut entries = 0;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        entries = pass(dir, threads.max(1))?;
        times.push(start.elapsed().as_secs_f64());
    }
    let all = times.clone();
    times.sort_by(f64::total_cmp);
    Ok(Obj::new()
        .bool("ok", true)
        .int("entries", entries as u64)
        .int("threads", threads as u64)
        .num("secs", times[times.len() / 2])
        .nums("all_secs", &all))
}

fn pass(dir: &Path, threads: usize) -> Result<usize> {
    let names: Vec<fs::DirEntry> = fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    let per_thread = names.len().div_ceil(threads).max(1);
    let inspected: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().filter(|e| e.metadata().is_ok()).count()))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    if inspected != names.len() {
        bail!(
            "{} of {} entries could be inspected",
            inspected,
            names.len()
        );
    }
    Ok(names.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_inspected_once_per_pass() {
        let dir = std::env::temp_dir().join(format!("list-floor-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for i in 0..37 {
            fs::write(dir.join(format!("f{i}")), b"x").unwrap();
        }
        for threads in [1, 2, 5] {
            assert_eq!(pass(&dir, threads).unwrap(), 37);
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
