//! The `mdm` command line.
fn main() {
    eprintln!("mdm: not built yet");
    std::process::exit(1);
}
