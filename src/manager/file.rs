//! A token kept in a file, for the processes of one machine: replaced atomically (never a
//! partial file), readable by its owner only, and an advisory lock around each refresh.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::error::Error;
use crate::manager::store::{StoreLock, StoredToken, TokenStore};

/// Stored tokens are far smaller; a larger file is not one.
const MAX_DOCUMENT: u64 = 64 * 1024;

/// Keeps the token in a file (mode 0600). Each save writes a temporary file beside it, syncs
/// it and renames it over the old one, so a reader sees the old document or the new one, never
/// a part; a process killed mid-save leaves the old document. Refreshes are serialised across
/// processes by `flock` on `{path}.lock`, which the kernel releases when a holder dies.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl FileStore {
    /// A store at `path` (created on the first save; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        let path = path.into();
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        FileStore {
            path,
            lock_path: lock_path.into(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Option<StoredToken>, Error> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(_) => return Err(Error::store("the token file cannot be read")),
        };
        let mut document = Zeroizing::new(Vec::with_capacity(4096));
        (&mut file)
            .take(MAX_DOCUMENT + 1)
            .read_to_end(&mut document)
            .map_err(|_| Error::store("the token file cannot be read"))?;
        if document.len() as u64 > MAX_DOCUMENT {
            return Err(Error::store(
                "the token file is too large to be a stored token",
            ));
        }
        StoredToken::from_document(&document).map(Some)
    }

    fn write(&self, token: &StoredToken) -> Result<(), Error> {
        let cannot = || Error::store("the token file cannot be written");
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            crate::random::uuid_v4()
        ));
        let tmp = PathBuf::from(tmp);
        let document = token.to_document();
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&document)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // The rename itself must survive a crash.
            File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return Err(cannot());
        }
        Ok(())
    }
}

impl TokenStore for FileStore {
    fn load(&self) -> Result<Option<StoredToken>, Error> {
        self.read()
    }

    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.lock_path)
            .map_err(|_| Error::store("the token file's lock cannot be opened"))?;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(1);
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is involved.
            let taken =
                unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if taken {
                return Ok(Box::new(FileLock {
                    store: self,
                    _file: file,
                }));
            }
            if Instant::now() >= deadline {
                return Err(Error::store(
                    "the token file's lock was not released in time",
                ));
            }
            sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

/// The `flock` is released when the descriptor closes: on drop, or when the process dies.
struct FileLock<'a> {
    store: &'a FileStore,
    _file: File,
}

impl StoreLock for FileLock<'_> {
    fn load(&mut self) -> Result<Option<StoredToken>, Error> {
        self.store.read()
    }

    fn save(&mut self, token: &StoredToken) -> Result<(), Error> {
        self.store.write(token)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("concur-file-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("token.json")
    }

    #[test]
    fn saves_whole_files_readable_by_the_owner_only() {
        let path = temp("save");
        let store = FileStore::new(&path);
        assert!(store.load().unwrap().is_none());
        let token = StoredToken {
            refresh_token: Some("rt".into()),
            access_token: Some("at".into()),
            expires_at: Some(10),
            refresh_expires_at: None,
            geolocation: None,
        };
        store
            .lock(Duration::from_secs(1))
            .unwrap()
            .save(&token)
            .unwrap();
        assert_eq!(store.load().unwrap(), Some(token));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn garbage_and_unwritable_places_are_store_errors() {
        let path = temp("garbage");
        std::fs::write(&path, b"{\"refresh_token\": 42").unwrap();
        let e = FileStore::new(&path).load().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Store);
        let nowhere = FileStore::new("/nonexistent-dir/for/sure/token.json");
        assert_eq!(
            nowhere.lock(Duration::from_millis(1)).err().unwrap().kind(),
            crate::ErrorKind::Store
        );
    }

    #[test]
    fn the_lock_excludes_another_holder_and_times_out() {
        let path = temp("lock");
        let a = FileStore::new(&path);
        let b = FileStore::new(&path);
        let held = a.lock(Duration::from_millis(10)).unwrap();
        let e = b.lock(Duration::from_millis(30)).err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Store);
        drop(held);
        assert!(b.lock(Duration::from_millis(10)).is_ok());
    }
}
