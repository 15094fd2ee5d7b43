fn main() {
    std::process::exit(srplay::cli::main());
}
