//! `openssl speed rsa2048`, run and read: the baseline the codec and corpus benchmarks report their
//! rates against, and the command runner it uses. Examples cannot share a library module, so each
//! includes this file with `#[path = "support/openssl_speed.rs"] mod openssl_speed;`; not every
//! example uses every item, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::process::Command;

/// What one `openssl speed` run reported.
pub(crate) struct Speed {
    /// `openssl version`.
    pub(crate) version: String,
    /// The command line that was run.
    pub(crate) command: String,
    /// RSA-2048 signatures per second (all processes with `-multi`).
    pub(crate) sign_per_sec: f64,
    /// RSA-2048 verifications per second (all processes with `-multi`).
    pub(crate) verify_per_sec: f64,
}

/// Runs `cmd` (described as `what` in errors) and returns its stdout; an error when it cannot be
/// started or exits unsuccessfully (with its stderr).
pub(crate) fn stdout_of(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `openssl version`'s one line.
pub(crate) fn version() -> Result<String, String> {
    let out = stdout_of(Command::new("openssl").arg("version"), "`openssl version`")?;
    Ok(out.trim().to_string())
}

/// Runs `openssl speed -elapsed [-multi N] -seconds S rsa2048` and reads its table.
pub(crate) fn rsa2048(seconds: u64, multi: Option<usize>) -> Result<Speed, String> {
    let version = version()?;
    let mut args = vec!["speed".to_string(), "-elapsed".into()];
    if let Some(n) = multi {
        args.extend(["-multi".into(), n.to_string()]);
    }
    args.extend(["-seconds".into(), seconds.to_string(), "rsa2048".into()]);
    let command = format!("openssl {}", args.join(" "));
    let text = stdout_of(Command::new("openssl").args(&args), &format!("`{command}`"))?;
    let (sign_per_sec, verify_per_sec) =
        parse(&text).map_err(|e| format!("`{command}` output: {e}"))?;
    Ok(Speed {
        version,
        command,
        sign_per_sec,
        verify_per_sec,
    })
}

/// Reads sign/s and verify/s from `openssl speed rsa2048`'s table. The header names the columns
/// (OpenSSL 1.1/3.0: `sign verify sign/s verify/s`; 3.2+ adds encrypt/decrypt columns), and the
/// data row `rsa 2048 bits ...` (3.2+: `rsa   2048 bits`) lists the values in the same order.
pub(crate) fn parse(text: &str) -> Result<(f64, f64), String> {
    let header: Vec<&str> = text
        .lines()
        .find(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            t.contains(&"sign/s") && t.contains(&"verify/s")
        })
        .ok_or("no header line with sign/s and verify/s")?
        .split_whitespace()
        .collect();
    let row = text
        .lines()
        .find(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            t.len() > 3 && t[0] == "rsa" && t[1] == "2048" && t[2] == "bits"
        })
        .ok_or("no `rsa 2048 bits` row")?;
    let values: Vec<&str> = row.split_whitespace().skip(3).collect();
    if values.len() != header.len() {
        return Err(format!(
            "the row has {} values but the header names {} columns",
            values.len(),
            header.len()
        ));
    }
    let column = |name: &str| -> Result<f64, String> {
        let idx = header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("no {name} column"))?;
        values[idx]
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or(format!(
                "{name} value {:?} is not a positive number",
                values[idx]
            ))
    };
    Ok((column("sign/s")?, column("verify/s")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openssl_3_0_table() {
        let text = "                  sign    verify    sign/s verify/s\n\
                    rsa 2048 bits 0.000663s 0.000019s   1509.0  52919.0\n";
        assert_eq!(parse(text).unwrap(), (1509.0, 52919.0));
    }

    #[test]
    fn parses_openssl_3_2_table() {
        let text = "                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s\n\
                    rsa   2048 bits 0.000700s 0.000020s 0.000021s 0.000690s   1428.6  50000.0  47619.0   1449.3\n";
        assert_eq!(parse(text).unwrap(), (1428.6, 50000.0));
    }

    #[test]
    fn refuses_output_without_the_table() {
        assert!(parse("Doing 2048 bits private rsa's\n").is_err());
        let text = "sign verify sign/s verify/s\nrsa 2048 bits 0.1s 0.1s\n";
        assert!(parse(text).is_err());
    }
}
