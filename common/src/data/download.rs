//! Downloads that stream to a `.part` file in the cache folder while hashing, so a large archive
//! never sits in memory and a slow link only has to keep bytes coming: a connection must open
//! within [`CONNECT_TIMEOUT`] and each read deliver within [`READ_TIMEOUT`], with no limit on the
//! whole. Nothing is renamed into place before its checksum is accepted.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use md5::Md5;
use sha2::{Digest, Sha256};

use super::DataError;

/// Time to resolve the host and open the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for the next bytes of a response (its headers, then each read of the body).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Without a terminal, a progress line this often.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// What a download delivered, for the caller's check: the digests the mirrors publish (SHA-256
/// for the IDX files, MD5 for the CIFAR archives) and the size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub sha256: String,
    pub md5: String,
    pub bytes: u64,
}

/// Downloads the first URL whose bytes `check` accepts into `path`. Each attempt streams to a
/// `.part` file beside `path`, hashing as it goes; only an accepted file is renamed into place,
/// and a failed one is removed, so an interrupted or corrupt download never leaves a file that
/// looks complete.
pub fn download_verified(urls: &[String], path: &Path, dataset: &str, name: &str, check: impl Fn(&Downloaded) -> Result<(), String>) -> Result<(), DataError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| DataError::Io { path: dir.to_owned(), source })?;
    let part = dir.join(format!(".{name}.part-{}", std::process::id()));
    let mut attempts = Vec::new();
    for url in urls {
        let outcome = download_to(url, &part).and_then(|got| check(&got));
        match outcome {
            Ok(()) => {
                return std::fs::rename(&part, path).map_err(|source| {
                    let _ = std::fs::remove_file(&part);
                    DataError::Io { path: path.to_owned(), source }
                });
            }
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                attempts.push(format!("{url}: {e}"));
            }
        }
    }
    Err(DataError::Download { dataset: dataset.to_owned(), name: name.to_owned(), attempts: attempts.join("; ") })
}

/// Streams `url` into `part` (created or truncated), returning its digests and size.
fn download_to(url: &str, part: &Path) -> Result<Downloaded, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_resolve(Some(CONNECT_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(READ_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let len = response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let bar = crate::progress::bytes_bar(len, &format!("downloading {url}"));
    let mut reader = response.body_mut().as_reader();
    let write_err = |e: std::io::Error| format!("cannot write {}: {e}", part.display());
    let mut file = std::fs::File::create(part).map_err(write_err)?;
    let (mut sha256, mut md5, mut bytes) = (Sha256::new(), Md5::new(), 0u64);
    let (start, mut last_log) = (Instant::now(), Instant::now());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| format!("{e} after {bytes} bytes"))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(write_err)?;
        sha256.update(&buf[..n]);
        md5.update(&buf[..n]);
        bytes += n as u64;
        bar.inc(n as u64);
        if bar.is_hidden() && last_log.elapsed() >= LOG_EVERY {
            last_log = Instant::now();
            eprintln!("{}", progress_line(url, bytes, len, start.elapsed()));
        }
    }
    file.sync_all().map_err(write_err)?;
    bar.finish_and_clear();
    if let Some(expected) = len
        && bytes != expected
    {
        return Err(format!("the server announced {expected} bytes and sent {bytes}"));
    }
    Ok(Downloaded { sha256: format!("{:x}", sha256.finalize()), md5: format!("{:x}", md5.finalize()), bytes })
}

/// `downloading URL: 12.0 of 163.0 MB (7%), 0.8 MB/s`, for logs without a terminal.
fn progress_line(url: &str, bytes: u64, len: Option<u64>, elapsed: Duration) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let rate = mb(bytes) / elapsed.as_secs_f64().max(1e-9);
    match len {
        Some(total) if total > 0 => format!("downloading {url}: {:.1} of {:.1} MB ({:.0}%), {rate:.1} MB/s", mb(bytes), mb(total), 100.0 * bytes as f64 / total as f64),
        _ => format!("downloading {url}: {:.1} MB, {rate:.1} MB/s", mb(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_say_how_far_and_how_fast() {
        let line = progress_line("http://m/x.gz", 12_000_000, Some(163_000_000), Duration::from_secs(15));
        assert_eq!(line, "downloading http://m/x.gz: 12.0 of 163.0 MB (7%), 0.8 MB/s");
        assert_eq!(progress_line("u", 2_000_000, None, Duration::from_secs(1)), "downloading u: 2.0 MB, 2.0 MB/s");
    }
}
