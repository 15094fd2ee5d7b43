fn main() {
    std::process::exit(srplay::cli::main());
}

// The allocator is jemalloc without per-thread caches, in one arena. srplay runs a task
// on `--forks` worker threads at once (50 at 50 hosts), and a per-thread cache of freed
// blocks costs up to ~230 KiB a thread with glibc's malloc: at 50 hosts, 11 of the run's
// 39 MiB. The threads wait on their hosts, not on the allocator, so the cache buys no
// speed. Measured in hack/bench/README.md ("Memory at 50 hosts").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts; `_RJEM_MALLOC_CONF` in the environment
/// overrides them.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8] = b"tcache:false,narenas:1\0";
