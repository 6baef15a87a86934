//! One corpus record written as an NDJSON or CSV line.

use super::*;

/// Writes one record in `format` (with its line ending) to `out`.
pub(crate) fn write_record(out: &mut Vec<u8>, r: &Record, format: Format) {
    match format {
        Format::Ndjson => {
            serde_json::to_writer(&mut *out, r).expect("a record always serialises");
            out.push(b'\n');
        }
        Format::Csv => {
            let fields: [&str; 8] = [
                &r.case,
                r.expect.outcome.as_str(),
                r.expect.mobile.as_deref().unwrap_or(""),
                r.expect.code.as_deref().unwrap_or(""),
                r.expect.sub_code.as_deref().unwrap_or(""),
                r.canary.as_deref().unwrap_or(""),
                r.content_type.as_deref().unwrap_or(""),
                &r.envelope,
            ];
            out.extend_from_slice(r.id.to_string().as_bytes());
            for f in fields {
                out.push(b',');
                csv_field(out, f);
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// RFC 4180: quote a field holding `,`, `"`, CR or LF; double each `"` inside.
pub(super) fn csv_field(out: &mut Vec<u8>, f: &str) {
    if f.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push(b'"');
        for b in f.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(f.as_bytes());
    }
}
