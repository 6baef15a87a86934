//! A copy-paste `curl` command that reproduces a request byte for byte.
//!
//! The body is produced by the shell's `printf` with every byte that is not plain printable
//! ASCII written as an octal escape, and piped to `curl --data-binary @-`, so any bytes survive
//! (including NUL, quotes and non-UTF-8) and no argument exceeds the kernel's size limit. Long
//! runs of one character (the 1 MiB case) are written as `head -c N /dev/zero | tr '\0' C`.
//! The command needs a POSIX shell, `curl`, `head` and `tr`.

use crate::delivery::PreparedRequest;

/// Runs at least this long are generated with `head | tr` instead of spelled out.
const RUN: usize = 256;

/// Quotes `s` as one single-quoted shell word.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A `printf` format string (already single-quoted) that prints exactly `bytes`.
fn printf_word(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('\'');
    for &b in bytes {
        match b {
            b'%' => out.push_str("%%"),
            b'\\' => out.push_str(r"\\"),
            b'\'' => out.push_str(r"'\''"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('\'');
    out
}

/// A shell command list that writes exactly `body` to stdout.
pub fn body_producer(body: &[u8]) -> String {
    let mut cmds: Vec<String> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        let mut j = i;
        while j < body.len() && body[j] == b {
            j += 1;
        }
        if j - i >= RUN && b.is_ascii_alphanumeric() {
            if start < i {
                cmds.push(format!("printf {}", printf_word(&body[start..i])));
            }
            cmds.push(format!(
                "head -c {} /dev/zero | tr '\\0' '{}'",
                j - i,
                char::from(b)
            ));
            start = j;
        }
        i = j;
    }
    if start < body.len() || cmds.is_empty() {
        cmds.push(format!("printf {}", printf_word(&body[start..])));
    }
    if cmds.len() == 1 {
        cmds.remove(0)
    } else {
        format!("{{ {}; }}", cmds.join("; "))
    }
}

/// The full `curl` command for `req` (always a POST, never following redirects).
pub fn command(req: &PreparedRequest) -> String {
    let mut s = body_producer(&req.body);
    // --compressed: offer and decode gzip, deflate and br, as the harness does.
    s.push_str(" | curl -sS -i --compressed -X POST ");
    s.push_str(&shell_quote(&req.url));
    // curl adds a form content type to --data-binary and `Expect: 100-continue` to big bodies;
    // an empty `-H 'Name:'` removes a header curl would add.
    let ct = match &req.content_type {
        Some(ct) => format!("Content-Type: {ct}"),
        None => "Content-Type:".to_string(),
    };
    s.push_str(" \\\n  -H ");
    s.push_str(&shell_quote(&ct));
    for (name, value) in &req.headers {
        s.push_str(" \\\n  -H ");
        s.push_str(&shell_quote(&format!("{name}: {value}")));
    }
    s.push_str(" \\\n  -H 'Expect:' --data-binary @-");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `script` in bash with `curl` replaced by a function recording its stdin and args.
    fn run_with_fake_curl(script: &str) -> (Vec<u8>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let body = dir.path().join("body");
        let args = dir.path().join("args");
        let full = format!(
            "set -e\ncurl() {{ cat > '{}'; printf '%s\\n' \"$@\" > '{}'; }}\n{script}\n",
            body.display(),
            args.display()
        );
        let out = Command::new("bash").arg("-c").arg(&full).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let args = std::fs::read_to_string(&args).unwrap();
        (
            std::fs::read(&body).unwrap(),
            args.lines().map(String::from).collect(),
        )
    }

    fn req(body: Vec<u8>) -> PreparedRequest {
        PreparedRequest {
            url: "http://127.0.0.1:1/a?x='1'&y=$HOME".into(),
            content_type: Some("application/json".into()),
            headers: vec![
                ("X-Alipay-Harness-Case".into(), "tamper.body.x".into()),
                ("Cookie".into(), "a='b'; c=\"d\"".into()),
            ],
            body,
        }
    }

    #[test]
    fn every_byte_round_trips_through_bash() {
        let mut body: Vec<u8> = (0..=255u8).collect();
        body.extend_from_slice("{\"a\":\"%s %d \\n '\" 中文 `x` $(y)}".as_bytes());
        let (got, args) = run_with_fake_curl(&command(&req(body.clone())));
        assert_eq!(got, body);
        assert!(args.contains(&"http://127.0.0.1:1/a?x='1'&y=$HOME".to_string()));
        assert!(args.contains(&"Cookie: a='b'; c=\"d\"".to_string()));
        assert!(args.contains(&"Content-Type: application/json".to_string()));
        assert!(args.contains(&"X-Alipay-Harness-Case: tamper.body.x".to_string()));
        assert!(args.contains(&"--data-binary".to_string()));
    }

    #[test]
    fn empty_and_huge_bodies_round_trip_compactly() {
        let (got, _) = run_with_fake_curl(&command(&req(Vec::new())));
        assert!(got.is_empty());
        let mut huge = b"{\"response\":\"".to_vec();
        huge.extend(std::iter::repeat_n(b'A', 1024 * 1024));
        huge.extend_from_slice(b"\",\"sign\":\"x\"}");
        let cmd = command(&req(huge.clone()));
        assert!(cmd.len() < 1000, "{} bytes", cmd.len());
        let (got, _) = run_with_fake_curl(&cmd);
        assert_eq!(got, huge);
    }

    #[test]
    fn no_content_type_removes_curls_default() {
        let mut r = req(Vec::new());
        r.content_type = None;
        let (_, args) = run_with_fake_curl(&command(&r));
        assert!(args.contains(&"Content-Type:".to_string()));
    }

    #[test]
    fn shell_quote_escapes_single_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
