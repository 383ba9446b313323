//! The `drover` binary. `drover executor` is dispatched here, before any async runtime exists,
//! because libcontainer forks and must not run inside a multi-threaded tokio process.

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
