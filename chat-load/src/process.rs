//! What chat-load reads about processes, to say what a load cost: the server's resident
//! memory and CPU time (from /proc), and its own CPU time.

use std::time::Duration;

/// The resident memory of process `pid`, in KiB, if it can be read.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The CPU time (user and system) process `pid` has used, if it can be read.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in brackets, may hold spaces: count fields after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), the 12th and 13th after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(
        ticks as f64 / CLOCK_TICKS_PER_SECOND,
    ))
}

/// The unit of /proc's CPU times: USER_HZ, which Linux fixes at 100 for user space.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// The CPU time this process has used.
pub fn own_cpu_time() -> Option<Duration> {
    cpu_time(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_resident_memory_and_a_cpu_time() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert!(own_cpu_time().is_some());
        assert_eq!(cpu_time(u32::MAX), None, "no such process");
    }
}
