//! Heap housekeeping for long-lived agents: a bounded number of glibc malloc arenas, and freed heap
//! handed back to the operating system after large transient work (loading a snapshot, sending a
//! large list), so a server's resident memory follows its live state.

/// Caps glibc's malloc arenas at the number of CPUs (glibc's default is 8 per CPU, each keeping its
/// own freed memory). Call before any thread is started.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        // SAFETY: mallopt only changes allocator tuning; it is called before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cpus as libc::c_int);
        }
    }
}

/// Returns freed heap pages to the operating system.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases memory malloc no longer uses.
    unsafe {
        libc::malloc_trim(0);
    }
}
