//! Bounded input: every untrusted read is capped, and decompression only
//! happens here, with a cap on the output size (a 1 MB gzip bomb must not
//! become 10 GB of memory).

use std::io::Read;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// Reading a body failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError<E> {
    /// More than `max` bytes were sent.
    #[error("body larger than {max} bytes")]
    TooLarge { max: usize },
    /// The transport failed (client went away, timeout).
    #[error("reading body failed")]
    Transport(#[source] E),
}

/// Read a byte stream into memory, failing as soon as it passes `max` bytes.
/// `size_hint` (e.g. `Content-Length`) pre-sizes the buffer when within `max`.
pub async fn read_capped<S, E>(
    mut stream: S,
    max: usize,
    size_hint: Option<usize>,
) -> Result<Bytes, ReadError<E>>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut buf = BytesMut::with_capacity(size_hint.filter(|&n| n <= max).unwrap_or(8 * 1024));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(ReadError::Transport)?;
        if buf.len() + chunk.len() > max {
            return Err(ReadError::TooLarge { max });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Decompressing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecompressError {
    /// The decompressed data would exceed `max` bytes.
    #[error("decompressed data larger than {max} bytes")]
    TooLarge { max: usize },
    /// Not valid gzip data.
    #[error("invalid gzip data: {0}")]
    Invalid(#[source] std::io::Error),
}

/// Decompress one gzip stream, refusing to produce more than `max` bytes.
/// Memory use is bounded by `max` (plus a small read buffer) whatever the
/// input claims.
#[allow(clippy::disallowed_types)] // the one sanctioned use of GzDecoder
pub fn gunzip_capped(data: &[u8], max: usize) -> Result<Vec<u8>, DecompressError> {
    let decoder = flate2::read::GzDecoder::new(data);
    // Guess the output size from the ratio, within the cap.
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max).max(1024));
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(DecompressError::Invalid)?;
    if out.len() > max {
        return Err(DecompressError::TooLarge { max });
    }
    Ok(out)
}

/// Compress with gzip (for clients and tests; output is not untrusted).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gunzip_roundtrip() {
        let data = b"hello world".repeat(100);
        assert_eq!(gunzip_capped(&gzip(&data), 10_000).unwrap(), data);
    }

    #[test]
    fn gunzip_bomb_is_refused_with_bounded_memory() {
        // 200 MB of zeros compresses to ~200 KB.
        let bomb = {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..200 {
                enc.write_all(&zeros).unwrap();
            }
            enc.finish().unwrap()
        };
        assert!(bomb.len() < 1 << 20);
        let err = gunzip_capped(&bomb, 10 << 20).unwrap_err();
        assert!(matches!(err, DecompressError::TooLarge { max } if max == 10 << 20));
    }

    #[test]
    fn gunzip_rejects_plain_data() {
        assert!(matches!(
            gunzip_capped(b"not gzip", 100),
            Err(DecompressError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn read_capped_limits() {
        let chunks = || {
            futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(Bytes::from_static(b"12345")),
                Ok(Bytes::from_static(b"67890")),
            ])
        };
        assert_eq!(
            read_capped(chunks(), 10, Some(10)).await.unwrap().as_ref(),
            b"1234567890"
        );
        assert!(matches!(
            read_capped(chunks(), 9, None).await,
            Err(ReadError::TooLarge { max: 9 })
        ));
    }
}
