//! `MANIFEST.sha256`: one `SHA256  path` line per file of the bundle, paths relative to
//! the bundle's top directory, sorted, in the format `sha256sum` writes and
//! `sha256sum -c` reads (two spaces: text mode, which on Linux is the same as binary).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::modules::files::hex;

/// The manifest's file name, at the top of the bundle.
pub const MANIFEST_NAME: &str = "MANIFEST.sha256";

/// A SHA-256 sum as lowercase hex.
pub type Sum = String;

/// Path (relative to the top directory) → SHA-256 sum of the file's content.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    sums: BTreeMap<String, Sum>,
}

impl Manifest {
    pub fn insert(&mut self, path: String, sum: Sum) {
        self.sums.insert(path, sum);
    }

    pub fn len(&self) -> usize {
        self.sums.len()
    }

    pub fn get(&self, path: &str) -> Option<&Sum> {
        self.sums.get(path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.sums.keys().map(String::as_str)
    }

    /// The manifest as `sha256sum` prints it.
    pub fn render(&self) -> String {
        self.sums
            .iter()
            .map(|(path, sum)| format!("{sum}  {path}\n"))
            .collect()
    }

    /// Read a manifest back; the error names the first bad line. The paths are checked
    /// as every archive path is (relative, no `..`), by the reader that compares them.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        for (n, line) in text.lines().enumerate() {
            let bad = || {
                format!(
                    "line {} of {MANIFEST_NAME} is not `SHA256  path`: {line:?}",
                    n + 1
                )
            };
            let (sum, path) = line.split_once("  ").ok_or_else(bad)?;
            let is_sum =
                sum.len() == 64 && sum.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !is_sum || path.is_empty() {
                return Err(bad());
            }
            if manifest
                .sums
                .insert(path.to_string(), sum.to_string())
                .is_some()
            {
                return Err(format!("{MANIFEST_NAME} lists {path} twice"));
            }
        }
        Ok(manifest)
    }
}

/// The sum of bytes already in memory.
pub fn sum_of(data: &[u8]) -> Sum {
    hex(&Sha256::digest(data))
}

/// A reader that hashes what passes through it, so a file is read once to be both
/// written and summed.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// How many bytes went through, and their sum.
    pub fn finish(self) -> (u64, Sum) {
        (self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A writer that hashes what passes through it: the sum of the compressed bundle as
/// it is written.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn finish(self) -> (W, u64, Sum) {
        (self.inner, self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_then_parse_gives_the_same_manifest() {
        let mut m = Manifest::default();
        m.insert("srplay".into(), sum_of(b"bin"));
        m.insert("roles/a/tasks/main.yml".into(), sum_of(b"- debug:\n"));
        let text = m.render();
        assert!(text.starts_with(&format!(
            "{}  roles/a/tasks/main.yml\n",
            sum_of(b"- debug:\n")
        )));
        assert_eq!(Manifest::parse(&text), Ok(m));
    }

    #[test]
    fn parse_names_the_bad_line() {
        let good = format!("{}  a\n", sum_of(b""));
        let err = Manifest::parse(&format!("{good}xyz a\n")).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Manifest::parse(&format!("{good}{good}")).unwrap_err();
        assert!(err.contains("lists a twice"), "{err}");
    }

    #[test]
    fn sum_of_empty_is_sha256_of_nothing() {
        assert_eq!(
            sum_of(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
