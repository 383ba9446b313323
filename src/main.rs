//! The `drover` binary. `drover executor` is dispatched here, before any async runtime exists,
//! because libcontainer forks and must not run inside a multi-threaded tokio process.

/// jemalloc serves every Rust allocation: a busy server allocates and frees millions of small
/// objects a minute (decoded log entries, plans, watch replies, events), which took ~15% of a C1M
/// leader's CPU in glibc's malloc.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts: freed pages go back to the operating system a second
/// after they were last used, released at once (`muzzy_decay_ms:0`: no lazily-freed stage, whose
/// pages would still count as resident until the machine runs short of memory).
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("executor") {
        if args.get(2).map(String::as_str) == Some("launcher") {
            // The client's executor launcher: forks executors on request, also before any runtime.
            std::process::exit(drover::executor::launcher::serve());
        }
        if args.get(2).map(String::as_str) == Some("exec") {
            // `alloc exec`: a command inside a running task (libcontainer's tenant), also before any runtime.
            std::process::exit(drover::executor::exec::run(&args[3..]));
        }
        let code = match executor_state_dir(&args[2..]) {
            Some(dir) => drover::executor::run(std::path::Path::new(&dir)),
            None => {
                eprintln!("usage: drover executor --state-dir DIR");
                2
            }
        };
        std::process::exit(code);
    }
    drover::memory::limit_arenas();
    std::process::exit(drover::cli::run(args));
}

fn executor_state_dir(args: &[String]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--state-dir" | "-state-dir" => return it.next().cloned(),
            s if s.starts_with("--state-dir=") => return Some(s["--state-dir=".len()..].to_string()),
            _ => {}
        }
    }
    None
}
