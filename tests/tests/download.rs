//! The download path, against an HTTP server on loopback: mirrors tried in order, the SHA-256
//! checked before anything lands in the cache, and nothing half-written left behind.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use repro_common::data::{self, DataSource, DatasetSpec, registry};

/// Serves `files` (path -> body) for exactly `requests` connections, then stops.
fn serve(files: Vec<(String, Vec<u8>)>, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut line).unwrap();
            // Drain the headers.
            let mut header = String::new();
            while reader.read_line(&mut header).unwrap() > 2 {
                header.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
                    stream.write_all(body).unwrap();
                }
                None => write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap(),
            }
        }
    });
    format!("http://{addr}")
}

fn spec_with_mirrors(mirrors: Vec<String>) -> &'static DatasetSpec {
    let mirrors: &'static [&'static str] = Box::leak(mirrors.into_iter().map(|m| &*Box::leak(m.into_boxed_str())).collect::<Vec<_>>().into_boxed_slice());
    Box::leak(Box::new(DatasetSpec { mirrors, embedded: None, ..registry::MNIST_SAMPLE }))
}

fn sample_file(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(registry::sample_dir()).join(name)).unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default()
}

#[test]
fn falls_back_to_the_next_mirror_and_verifies_before_caching() {
    let mut files = Vec::new();
    for f in registry::MNIST_SAMPLE.files() {
        files.push((format!("/good/{}", f.name), sample_file(f.name)));
    }
    // First mirror answers 404 for everything; the second has the files.
    let base = serve(files, 8);
    let spec = spec_with_mirrors(vec![format!("{base}/missing/"), format!("{base}/good/")]);
    let cache = tempfile::tempdir().unwrap();
    for f in spec.files() {
        let path = data::ensure_cached(spec, cache.path(), &f).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), sample_file(f.name));
    }
    let mut names = leftovers(cache.path());
    names.sort();
    assert_eq!(names, vec!["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"], "no temporary files left");
    // The cached folder then loads like any prepared folder.
    let ds = data::load("mnist-sample", &DataSource::Dir(cache.path().to_owned())).unwrap();
    assert_eq!(ds.split_len("train"), 8000);
}

#[test]
fn a_corrupt_download_is_rejected_and_never_cached() {
    let f = registry::MNIST_SAMPLE.train_labels;
    let mut body = sample_file(f.name);
    let last = body.len() - 1;
    body[last] ^= 0xff;
    let base = serve(vec![(format!("/bad/{}", f.name), body)], 1);
    let spec = spec_with_mirrors(vec![format!("{base}/bad/")]);
    let cache = tempfile::tempdir().unwrap();
    let e = data::ensure_cached(spec, cache.path(), &f).unwrap_err().to_string();
    assert!(e.contains(f.name) && e.contains("checksum") && e.contains("--data-dir"), "{e}");
    assert!(leftovers(cache.path()).is_empty(), "nothing cached: {:?}", leftovers(cache.path()));
}

#[test]
fn an_unreachable_mirror_says_how_to_work_offline() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let spec = spec_with_mirrors(vec![format!("http://127.0.0.1:{port}/")]);
    let cache = tempfile::tempdir().unwrap();
    let e = data::ensure_cached(spec, cache.path(), &spec.test_labels).unwrap_err().to_string();
    assert!(e.contains("could not download") && e.contains("--data-dir"), "{e}");
}

#[test]
fn a_download_cut_short_is_an_error_and_leaves_no_part_file() {
    let f = registry::MNIST_SAMPLE.train_labels;
    let body = sample_file(f.name);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = body.len() / 2;
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        // The whole file announced, half of it sent, then the connection closes.
        write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
        stream.write_all(&body[..sent]).unwrap();
    });
    let spec = spec_with_mirrors(vec![format!("http://{addr}/")]);
    let cache = tempfile::tempdir().unwrap();
    let e = data::ensure_cached(spec, cache.path(), &f).unwrap_err().to_string();
    assert!(e.contains("could not download") && e.contains(f.name), "{e}");
    assert!(leftovers(cache.path()).is_empty(), "no .part file or cached copy: {:?}", leftovers(cache.path()));
}
