//! Every row of the corpus's `SIGNATURES.tsv` verifies over the exact file bytes, and fails with any one
//! byte changed. GitHub rows use `X-Hub-Signature-256` with GitHub's test secret; Linear rows use the same
//! HMAC-SHA256 (hex, no prefix) with Linear's test secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use domain::webhook::signature::{SignatureError, sign, verify};
use domain::webhook::values::WebhookSecret;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus")
}

#[test]
fn every_corpus_signature_verifies_and_fails_with_one_byte_changed() {
    let github = WebhookSecret::parse("It's a Secret to Everybody").unwrap();
    let linear = WebhookSecret::parse("SECRET").unwrap();
    let tsv = std::fs::read_to_string(corpus().join("SIGNATURES.tsv")).unwrap();
    let mut checked = 0;
    for line in tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (path, size) = (cols[0], cols[1].parse::<usize>().unwrap());
        let bytes = std::fs::read(corpus().join(path)).unwrap();
        assert_eq!(
            bytes.len(),
            size,
            "{path}: size differs from SIGNATURES.tsv"
        );
        let (secret, header) = match (
            cols.get(2).filter(|s| !s.is_empty()),
            cols.get(3).filter(|s| !s.is_empty()),
        ) {
            (Some(hub), _) => (&github, hub.to_string()),
            (None, Some(linear_sig)) => (&linear, format!("sha256={linear_sig}")),
            _ => panic!("{path}: no signature"),
        };
        assert_eq!(
            sign(secret, &bytes),
            header,
            "{path}: our signature differs"
        );
        assert_eq!(
            verify(&[secret], &bytes, Some(&header), false),
            Ok(()),
            "{path}"
        );
        for at in [0, bytes.len() / 2, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[at] ^= 0x20;
            assert_eq!(
                verify(&[secret], &changed, Some(&header), false),
                Err(SignatureError::Mismatch),
                "{path}: byte {at} changed"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 141, "every row of SIGNATURES.tsv is checked");
}
