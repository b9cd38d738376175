//! CPU time from /proc, for costs that throughput pairs cannot resolve on a noisy machine:
//! what one admin list costs the server process, and how busy a transfer keeps the cores.

use std::fs;

/// CPU time (ns) every thread of process `pid` has run so far: the first field of each
/// `/proc/PID/task/TID/schedstat`. Threads that ended meanwhile are not counted, so take
/// both readings while the process's threads live (tokio keeps its pools alive between
/// requests).
pub fn process_ns(pid: u32) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let Ok(text) = fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// This process's CPU time (ns), all threads.
pub fn own_ns() -> Option<u64> {
    process_ns(std::process::id())
}

/// Machine-wide `(busy, total)` jiffies from the first line of /proc/stat.
pub fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Cores in the machine (for turning CPU time into a share of the machine).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = own_ns().expect("schedstat readable");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = own_ns().expect("schedstat readable");
        assert!(after > before, "{before} -> {after}");
    }

    #[test]
    fn machine_busy_is_part_of_total() {
        let (busy, total) = machine_jiffies().expect("/proc/stat readable");
        assert!(busy <= total && total > 0);
    }
}
