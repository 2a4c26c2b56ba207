//! Where results go: files that are checked before any load and never silently overwritten.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A result file that cannot be written.
#[derive(Debug, Error)]
pub enum OutputError {
    /// It exists and `--force` was not given.
    #[error("{} exists; pass --force to overwrite it, or pick another path", .0.display())]
    Exists(PathBuf),
    /// Its folder is missing or not writable.
    #[error("cannot write {}: {reason}", path.display())]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A file results will be written to at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    path: PathBuf,
}

impl OutputFile {
    /// Checks, before any load, that `path` can be written: its folder exists and takes a file,
    /// and it does not exist yet unless `force`.
    pub fn check(path: &Path, force: bool) -> Result<Self, OutputError> {
        if path.exists() && !force {
            return Err(OutputError::Exists(path.to_owned()));
        }
        if path.is_dir() {
            return Err(OutputError::Unwritable {
                path: path.to_owned(),
                reason: "it is a folder".into(),
            });
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // The only sure test of "writable" is writing: a probe file beside the target.
        tempfile::NamedTempFile::new_in(dir).map_err(|e| OutputError::Unwritable {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` whole: to a temporary file beside the target, then renamed over it, so a
    /// crash never leaves half a file.
    pub fn write(&self, bytes: &[u8]) -> Result<(), OutputError> {
        let unwritable = |reason: String| OutputError::Unwritable {
            path: self.path.clone(),
            reason,
        };
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut file =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| unwritable(e.to_string()))?;
        file.write_all(bytes)
            .map_err(|e| unwritable(e.to_string()))?;
        file.persist(&self.path)
            .map_err(|e| unwritable(e.to_string()))?;
        Ok(())
    }
}

/// Creates a new folder for a run's results. It must not exist yet unless `force`.
pub fn create_run_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    if dir.exists() && !force {
        return Err(OutputError::Exists(dir.to_owned()));
    }
    fs::create_dir_all(dir).map_err(|e| OutputError::Unwritable {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    tempfile::NamedTempFile::new_in(dir)
        .map(drop)
        .map_err(|e| OutputError::Unwritable {
            path: dir.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_files_are_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let out = OutputFile::check(&path, false).unwrap();
        out.write(b"one").unwrap();
        assert!(matches!(
            OutputFile::check(&path, false),
            Err(OutputError::Exists(_))
        ));
        OutputFile::check(&path, true)
            .unwrap()
            .write(b"two")
            .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn a_missing_folder_is_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let err = OutputFile::check(&dir.path().join("no/such/dir/out.json"), false).unwrap_err();
        assert!(err.to_string().contains("cannot write"), "{err}");
        assert!(OutputFile::check(dir.path(), true).is_err());
    }
}
