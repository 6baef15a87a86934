//! One memory figure of a process, read from Linux's `/proc/<pid>/status` (`VmRSS`, `VmHWM`, ...,
//! in KiB): the server and corpus benchmarks' memory readings. Examples cannot share a library
//! module, so each includes this file with `#[path = "support/proc_status.rs"] mod proc_status;`.

/// The `key` line (e.g. `"VmHWM"`) of `/proc/<pid>/status`, in KiB; `pid` is a number or `self`.
pub(crate) fn kib(pid: &str, key: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {key} in {path}"))
}
