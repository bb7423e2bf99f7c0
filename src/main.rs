//! The `stormcast` binary: parse arguments, call [`stormcast::cli`], map the
//! outcome to an exit code (0 ok, 1 a declared check failed, 2 bad input).

fn main() {
    std::process::exit(stormcast::cli::main());
}
