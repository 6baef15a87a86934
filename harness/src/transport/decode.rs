//! `Content-Encoding` decoding with a size cap: `gzip` (and `x-gzip`), `deflate` (zlib, and the
//! raw DEFLATE some servers send under that name) and `br`, with `flate2` and `brotli`. A list
//! (`gzip, br`) is undone last-applied first. The decoded size is bounded by the answer cap
//! while decoding, so a compression bomb costs at most the cap in memory and time.

use std::io::Read;

/// Why an encoded body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The decoded body is larger than the cap.
    #[error("the decoded answer is larger than the cap")]
    TooLarge,
    /// An encoding the harness does not know.
    #[error(
        "Content-Encoding {0:?} is not one the harness can decode (gzip, deflate, br), and the request did not offer it in Accept-Encoding"
    )]
    Unsupported(String),
    /// The bytes are not valid data of the declared encoding.
    #[error("the body is not valid {encoding} data: {message}")]
    Corrupt {
        /// The declared encoding.
        encoding: String,
        /// The decoder's error.
        message: String,
    },
}

/// Reads at most `cap` bytes from `reader`; more is [`DecodeError::TooLarge`].
fn read_capped(reader: impl Read, cap: usize, encoding: &str) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    reader
        .take(cap as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Corrupt {
            encoding: encoding.to_string(),
            message: e.to_string(),
        })?;
    if out.len() > cap {
        return Err(DecodeError::TooLarge);
    }
    Ok(out)
}

/// Undoes one encoding. A zero-length body decodes to a zero-length body whatever the encoding:
/// a 204 or an empty refusal sent through middleware that leaves its `Content-Encoding` header
/// on holds nothing to decode (and nothing to hide).
fn decode_one(encoding: &str, body: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    match encoding.to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => read_capped(flate2::read::MultiGzDecoder::new(body), cap, encoding),
        "deflate" => {
            read_capped(flate2::read::ZlibDecoder::new(body), cap, encoding).or_else(|first| {
                match read_capped(flate2::read::DeflateDecoder::new(body), cap, encoding) {
                    Ok(out) => Ok(out),
                    // Neither zlib nor raw DEFLATE: report the zlib error (what the RFC specifies).
                    Err(DecodeError::TooLarge) => Err(DecodeError::TooLarge),
                    Err(_) => Err(first),
                }
            })
        }
        "br" => read_capped(brotli::Decompressor::new(body, 4096), cap, encoding),
        "identity" => Ok(body.to_vec()),
        _ => Err(DecodeError::Unsupported(encoding.to_string())),
    }
}

/// Decodes `body` sent with `Content-Encoding: content_encoding`, keeping the result within `cap`
/// bytes.
pub fn decode(content_encoding: &str, body: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    let mut data = body.to_vec();
    for encoding in content_encoding
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .rev()
    {
        data = decode_one(encoding, &data, cap)?;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn br(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    const TEXT: &[u8] = br#"{"status":"rejected","error":"decrypt failed"}"#;

    #[test]
    fn every_supported_encoding_round_trips() {
        assert_eq!(decode("gzip", &gzip(TEXT), 1024).unwrap(), TEXT);
        assert_eq!(decode("x-gzip", &gzip(TEXT), 1024).unwrap(), TEXT);
        assert_eq!(decode("deflate", &zlib(TEXT), 1024).unwrap(), TEXT);
        assert_eq!(decode("deflate", &raw_deflate(TEXT), 1024).unwrap(), TEXT);
        assert_eq!(decode("br", &br(TEXT), 1024).unwrap(), TEXT);
        assert_eq!(decode("GZIP", &gzip(TEXT), 1024).unwrap(), TEXT);
        // Applied gzip first, then br: undone in reverse.
        assert_eq!(decode("gzip, br", &br(&gzip(TEXT)), 1024).unwrap(), TEXT);
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let bomb = gzip(&vec![b'A'; 50 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024, "{} bytes", bomb.len());
        assert_eq!(decode("gzip", &bomb, 65536), Err(DecodeError::TooLarge));
        let bomb = br(&vec![b'A'; 50 * 1024 * 1024]);
        assert_eq!(decode("br", &bomb, 65536), Err(DecodeError::TooLarge));
    }

    #[test]
    fn unknown_and_corrupt_encodings_are_named() {
        let e = decode("zstd", b"whatever", 1024).unwrap_err();
        assert!(e.to_string().contains("\"zstd\""), "{e}");
        let e = decode("gzip", b"not gzip at all", 1024).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt { .. }), "{e:?}");
        assert!(e.to_string().contains("gzip"), "{e}");
        assert!(decode("br", b"\xff\xff\xff\xff", 1024).is_err());
        // Truncated data is still corrupt, however short.
        for (encoding, data) in [
            ("gzip", gzip(TEXT)),
            ("deflate", zlib(TEXT)),
            ("br", br(TEXT)),
        ] {
            assert!(decode(encoding, &data[..1], 1024).is_err(), "{encoding}");
        }
    }

    #[test]
    fn an_empty_body_decodes_to_an_empty_body() {
        for encoding in [
            "gzip", "x-gzip", "deflate", "br", "identity", "gzip, br", "zstd",
        ] {
            assert_eq!(decode(encoding, b"", 1024), Ok(Vec::new()), "{encoding}");
        }
    }

    #[test]
    fn identity_is_no_encoding() {
        assert_eq!(decode("identity", TEXT, 1024).unwrap(), TEXT);
        assert_eq!(decode("gzip, identity", &gzip(TEXT), 1024).unwrap(), TEXT);
    }
}
