//! The short fuzzing run CI makes on every change (`just fuzz` runs millions): generated inputs
//! through every parser of untrusted text, none may panic.

use nectr_tests::fuzz::{TARGETS, run, seeds};

#[test]
fn generated_inputs_never_panic_a_parser() {
    for target in TARGETS {
        let report = run(target, &seeds(target), 3_000, 7);
        assert!(
            report.panicked.is_none(),
            "{target} panicked on {:?}",
            report
                .panicked
                .map(|i| String::from_utf8_lossy(&i).into_owned())
        );
    }
}
