//! SHA-256 as lower-case hex: how nectr names a body, a token or a finding without keeping it.

/// The SHA-256 of `bytes`, as 64 lower-case hex characters.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::sha256_hex;

    #[test]
    fn the_digest_of_a_known_input_matches_its_published_value() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
