//! Decoding of `Content-Encoding: aws-chunked` request bodies.
//!
//! SDKs send streaming uploads as `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` chunks,
//! ending with a zero-size chunk and optional trailers (`x-amz-checksum-crc32:...`). We
//! never verify signatures (see [`crate::endpoint`]), so s3s is handed the plain bytes.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};

/// Longest chunk header line accepted (size, extensions, signature).
const MAX_HEADER_LINE: usize = 4096;

enum Phase {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
    Done,
}

struct State<S> {
    input: S,
    buf: BytesMut,
    phase: Phase,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("aws-chunked body: {msg}"),
    )
}

/// The error type of the body stream being decoded.
pub(crate) type StdError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl<S> State<S>
where
    S: Stream<Item = Result<Bytes, StdError>> + Unpin,
{
    /// Reads more input into the buffer; false at end of input.
    async fn fill(&mut self) -> io::Result<bool> {
        match self.input.next().await {
            Some(Ok(bytes)) => {
                self.buf.extend_from_slice(&bytes);
                Ok(true)
            }
            Some(Err(e)) => Err(io::Error::other(e.to_string())),
            None => Ok(false),
        }
    }

    async fn next_data(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            match self.phase {
                Phase::Size => {
                    if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        let line = self.buf.split_to(pos + 2);
                        let line = std::str::from_utf8(&line[..pos]).map_err(|_| bad("header"))?;
                        let size = line.split(';').next().unwrap_or_default().trim();
                        let size = u64::from_str_radix(size, 16).map_err(|_| bad("chunk size"))?;
                        self.phase = if size == 0 {
                            Phase::Trailer
                        } else {
                            Phase::Data(size)
                        };
                    } else if self.buf.len() > MAX_HEADER_LINE {
                        return Err(bad("chunk header too long"));
                    } else if !self.fill().await? {
                        return Err(bad("truncated"));
                    }
                }
                Phase::Data(left) => {
                    if self.buf.is_empty() && !self.fill().await? {
                        return Err(bad("truncated"));
                    }
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    if take == 0 {
                        continue;
                    }
                    let out = self.buf.split_to(take).freeze();
                    let left = left - take as u64;
                    self.phase = if left == 0 {
                        Phase::DataEnd
                    } else {
                        Phase::Data(left)
                    };
                    return Ok(Some(out));
                }
                Phase::DataEnd => {
                    if self.buf.len() < 2 {
                        if !self.fill().await? {
                            return Err(bad("truncated"));
                        }
                        continue;
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err(bad("missing CRLF after chunk"));
                    }
                    self.buf.advance(2);
                    self.phase = Phase::Size;
                }
                Phase::Trailer => {
                    // Trailing checksums are not verified; drain the rest of the body.
                    self.buf.clear();
                    while self.fill().await? {
                        self.buf.clear();
                    }
                    self.phase = Phase::Done;
                }
                Phase::Done => return Ok(None),
            }
        }
    }
}

/// The decoded bytes of an aws-chunked stream.
pub(crate) fn decode<S>(input: S) -> impl Stream<Item = io::Result<Bytes>> + Send
where
    S: Stream<Item = Result<Bytes, StdError>> + Unpin + Send,
{
    let state = State {
        input,
        buf: BytesMut::new(),
        phase: Phase::Size,
    };
    futures::stream::unfold(state, |mut state| async move {
        match state.next_data().await {
            Ok(Some(bytes)) => Some((Ok(bytes), state)),
            Ok(None) => None,
            Err(e) => {
                state.phase = Phase::Done;
                Some((Err(e), state))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(pieces: &[&[u8]]) -> io::Result<Vec<u8>> {
        let input = futures::stream::iter(
            pieces
                .iter()
                .map(|p| Ok::<_, StdError>(Bytes::copy_from_slice(p)))
                .collect::<Vec<_>>(),
        );
        let mut out = Vec::new();
        let mut stream = Box::pin(decode(input));
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn decodes_signed_and_unsigned_chunks_split_anywhere() {
        let body: &[u8] = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        assert_eq!(run(&[body]).await.unwrap(), b"hello world");
        let pieces: Vec<&[u8]> = body.chunks(3).collect();
        assert_eq!(run(&pieces).await.unwrap(), b"hello world");
    }

    #[tokio::test]
    async fn truncated_or_malformed_bodies_fail() {
        assert!(run(&[b"5\r\nhel"]).await.is_err());
        assert!(run(&[b"zz\r\nhello\r\n0\r\n\r\n"]).await.is_err());
        assert!(run(&[b"5\r\nhelloXX0\r\n\r\n"]).await.is_err());
    }
}
