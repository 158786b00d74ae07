//! How a delivery's body is stored: lz4-compressed when that makes it smaller (migration 11's
//! `payload_lz4`), else as it came (`payload`). Compressed on the request's own task, before the
//! group commit, so that the writer only stores it; read back whole from either column.

use crate::{DbError, Result};

/// Bodies shorter than this are stored as they are: compressing them saves next to nothing.
const PACK_FROM_BYTES: usize = 1024;

/// The most a compressed body may claim to hold: the largest body the webhook endpoint takes.
const UNPACK_LIMIT_BYTES: usize = domain::webhook::request::MAX_BODY_BYTES;

/// A delivery's body as stored: lz4-compressed when that makes it smaller (a GitHub body of 10–60 KB
/// of JSON, about five times), so that each delivery writes that much less before it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// Kept as it came: the `payload` column.
    Text(String),
    /// Kept compressed, its length first: the `payload_lz4` column (`payload` empty).
    Lz4(Vec<u8>),
}

impl Body {
    pub(crate) fn pack(text: String) -> Self {
        if text.len() < PACK_FROM_BYTES {
            return Self::Text(text);
        }
        let packed = lz4_flex::compress_prepend_size(text.as_bytes());
        if packed.len() < text.len() {
            Self::Lz4(packed)
        } else {
            Self::Text(text)
        }
    }

    /// The body from its two columns.
    pub(crate) fn unpack(text: String, lz4: Option<&[u8]>) -> Result<String> {
        let Some(packed) = lz4 else {
            return Ok(text);
        };
        let corrupt = |why: String| DbError::Corrupt(format!("a stored body {why}"));
        let (size, block) = lz4_flex::block::uncompressed_size(packed)
            .map_err(|e| corrupt(format!("does not decompress: {e}")))?;
        // Its length is read before anything is allocated for it: never more than a body can be.
        if size > UNPACK_LIMIT_BYTES {
            return Err(corrupt(format!("claims {size} bytes")));
        }
        let bytes = lz4_flex::decompress(block, size)
            .map_err(|e| corrupt(format!("does not decompress: {e}")))?;
        if bytes.len() != size {
            return Err(corrupt(format!(
                "decompresses to {} bytes, not the {size} stored",
                bytes.len()
            )));
        }
        String::from_utf8(bytes).map_err(|e| corrupt(format!("is not UTF-8: {e}")))
    }

    pub(crate) fn text(&self) -> &str {
        match self {
            Self::Text(text) => text,
            Self::Lz4(_) => "",
        }
    }

    pub(crate) fn lz4(&self) -> Option<&[u8]> {
        match self {
            Self::Text(_) => None,
            Self::Lz4(packed) => Some(packed),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::Body;

    #[test]
    fn a_large_body_is_kept_compressed_and_comes_back_whole() {
        let body = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/corpus/github/pull_request/opened.json"
        ))
        .unwrap();
        let packed = Body::pack(body.clone());
        let Body::Lz4(bytes) = &packed else {
            panic!("a 28 KB body kept as text");
        };
        // GitHub's JSON compresses several times over.
        assert!(
            bytes.len() * 3 < body.len(),
            "{} of {}",
            bytes.len(),
            body.len()
        );
        assert_eq!(Body::unpack(String::new(), Some(bytes)).unwrap(), body);
        // A short body is kept as it came, and read back as it was.
        assert_eq!(Body::pack("{}".into()), Body::Text("{}".into()));
        assert_eq!(Body::unpack("{}".into(), None).unwrap(), "{}");
        // Bytes that are not a compressed body are an error, not a body: nothing is allocated for a
        // length no body can have, and a block that comes out shorter than its length is refused.
        assert!(Body::unpack(String::new(), Some(b"\xff\xff\xff\x7fgarbage")).is_err());
        assert!(Body::unpack(String::new(), Some(b"\x40\x00\x00\x00\x30garbage")).is_err());
        assert!(Body::unpack(String::new(), Some(&bytes[..bytes.len() / 2])).is_err());
    }
}
