//! How the two binaries print a fatal error: one line for the whole chain of causes, and a
//! closed pipe told apart from a real failure.

/// One line for an error and its chain of sources, `outer: inner: innermost`, skipping a cause
/// whose text the line already ends with (several errors here, like [`crate::KeyError::File`], print
/// their source in their own message and also return it from `source()`). Both binaries print
/// their fatal errors with it.
pub fn chain_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e.to_string();
        if !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

/// True when the error, or any error in its chain of sources, is a write to a closed pipe, direct
/// or through `serde_json`'s writer (`alipay-sim ... | head`): both binaries exit 0 on it instead
/// of printing an error.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
        {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::protocol::error::KeyError;

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = KeyError::Io {
            path: PathBuf::from("keys/platform/aes.b64.txt"),
            source: io,
        };
        assert_eq!(
            chain_line(&e),
            "key file keys/platform/aes.b64.txt: no such file"
        );
        let wrapped = KeyError::File {
            path: PathBuf::from("k/p.pem"),
            source: Box::new(KeyError::AesLength { len: 3 }),
        };
        let line = chain_line(&wrapped);
        assert_eq!(line.matches("AES key is 3 bytes").count(), 1, "{line}");
    }

    /// A writer whose reader has gone.
    struct ClosedPipe;

    impl std::io::Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_found_anywhere_in_the_chain() {
        let not_found = KeyError::Io {
            path: PathBuf::from("k"),
            source: std::io::ErrorKind::NotFound.into(),
        };
        assert!(!is_broken_pipe(&not_found));
        let pipe = KeyError::File {
            path: PathBuf::from("k"),
            source: Box::new(KeyError::Io {
                path: PathBuf::from("k"),
                source: std::io::ErrorKind::BrokenPipe.into(),
            }),
        };
        assert!(is_broken_pipe(&pipe));
        let json = serde_json::to_writer(ClosedPipe, &[1]).unwrap_err();
        assert!(is_broken_pipe(&json));
    }
}
