//! `just fuzz`: drives generated inputs through every parser of untrusted text and prints, per
//! target, how many and how long. `FUZZ_INPUTS` (default 2,000,000 a target, 10 million in all) and
//! `FUZZ_SEED` set the run. Exits non-zero, with the input saved, at the first panic.

use std::process::ExitCode;

use nectr_tests::fuzz::{TARGETS, run, seeds};

fn main() -> ExitCode {
    let inputs: u64 = std::env::var("FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x006e_6563_7472);
    // Panics are caught and reported below; their default message would flood the terminal.
    std::panic::set_hook(Box::new(|_| {}));
    let mut total = 0;
    for target in TARGETS {
        let report = run(target, &seeds(target), inputs, seed);
        println!(
            "{:<12} {:>11} inputs in {:>8.1} s ({:>9.0}/s)",
            report.target,
            report.inputs,
            report.elapsed.as_secs_f64(),
            report.inputs as f64 / report.elapsed.as_secs_f64().max(1e-9)
        );
        total += report.inputs;
        if let Some(input) = report.panicked {
            let path = std::env::temp_dir().join(format!("nectr-fuzz-{target}.bin"));
            let _ = std::fs::write(&path, &input);
            eprintln!(
                "{target}: a panic; the input is saved at {}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }
    println!("{total} inputs, no panic");
    ExitCode::SUCCESS
}
