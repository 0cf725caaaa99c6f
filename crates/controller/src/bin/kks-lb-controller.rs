//! `kks-lb-controller`: the in-cluster controller.

fn main() -> std::process::ExitCode {
    eprintln!("kks-lb-controller: not wired yet");
    std::process::ExitCode::FAILURE
}
