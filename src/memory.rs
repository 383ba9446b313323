//! Heap housekeeping for long-lived agents: jemalloc (the binary's allocator, see `main.rs`) handing
//! freed pages back from a background thread, a bounded number of glibc malloc arenas for what
//! RocksDB allocates, and freed heap handed back to the operating system at once after large
//! transient work (loading a snapshot, sending a large list), so a server's resident memory follows
//! its live state.

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

/// Starts jemalloc's background threads, which return freed pages to the operating system after
/// `dirty_decay_ms` even while the process is idle (without them jemalloc purges only as it
/// allocates). Agents only: the executor forks containers, and keeps to one thread.
pub fn start_background_purge() {
    let mut on = true;
    // SAFETY: the name is NUL-terminated and `background_thread` takes a bool, which `on` is.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"background_thread".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut on).cast(),
            std::mem::size_of::<bool>(),
        )
    };
    if rc != 0 {
        tracing::debug!(rc, "jemalloc background threads not started");
    }
}

/// Returns freed heap pages to the operating system.
pub fn release_free_memory() {
    // `arena.<MALLCTL_ARENAS_ALL>.purge`: every arena's unused dirty pages, now.
    // SAFETY: the name is NUL-terminated; the purge takes and returns no value.
    unsafe {
        tikv_jemalloc_sys::mallctl(c"arena.4096.purge".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases memory malloc no longer uses.
    unsafe {
        libc::malloc_trim(0);
    }
}
